import { expect } from 'chai';
import {
  buildFinalStateString,
  buildSummaryPolicy,
  CANCELLED,
  EXCEPTION,
  FAILURE,
  mergeStepResult,
  resultName,
  RETRY,
  SKIPPED,
  stepResultSummary,
  SUCCESS,
  WARNINGS,
  worstStatus,
  type StepResultFlags,
} from '../../lib/process/results.js';

describe('results', function () {
  it("has Buildbot's codes and names", function () {
    expect([SUCCESS, WARNINGS, FAILURE, SKIPPED, EXCEPTION, RETRY, CANCELLED]).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect([0, 1, 2, 3, 4, 5, 6].map((c) => resultName(c))).to.deep.equal([
      'success',
      'warnings',
      'failure',
      'skipped',
      'exception',
      'retry',
      'cancelled',
    ]);
    expect(resultName(FAILURE, 2)).to.equal('failures');
    expect(resultName(null)).to.equal('not finished');
    expect(resultName(-1)).to.equal('not finished');
    expect(resultName(9)).to.equal('Invalid status');
  });

  it('worstStatus orders CANCELLED > RETRY > EXCEPTION > FAILURE > WARNINGS > SUCCESS > SKIPPED', function () {
    const order = [CANCELLED, RETRY, EXCEPTION, FAILURE, WARNINGS, SUCCESS, SKIPPED];
    order.forEach((worse, i) => {
      for (const better of order.slice(i)) {
        expect(worstStatus(worse, better), `${worse} vs ${better}`).to.equal(worse);
        expect(worstStatus(better, worse)).to.equal(worse);
      }
    });
    expect(worstStatus(SKIPPED, null)).to.equal(SKIPPED);
    expect(worstStatus(-1, undefined)).to.equal(null);
  });

  describe('mergeStepResult', function () {
    // [step result, flags, build result before, expected build result, terminate]
    const table: [number, StepResultFlags, number, number, boolean][] = [
      // FAILURE and its flags
      [FAILURE, {}, SUCCESS, FAILURE, false],
      [FAILURE, { haltOnFailure: true }, SUCCESS, FAILURE, true],
      [FAILURE, { flunkOnFailure: false }, SUCCESS, SUCCESS, false],
      [FAILURE, { flunkOnFailure: false, warnOnFailure: true }, SUCCESS, WARNINGS, false],
      [FAILURE, { flunkOnFailure: true, warnOnFailure: true }, SUCCESS, FAILURE, false],
      [FAILURE, { flunkOnFailure: false, haltOnFailure: true }, SUCCESS, SUCCESS, true],
      [FAILURE, { flunkOnFailure: false, warnOnFailure: true, haltOnFailure: true }, SUCCESS, WARNINGS, true],
      [FAILURE, { flunkOnFailure: false }, WARNINGS, WARNINGS, false],
      // WARNINGS and its flags
      [WARNINGS, {}, SUCCESS, SUCCESS, false],
      [WARNINGS, { warnOnWarnings: true }, SUCCESS, WARNINGS, false],
      [WARNINGS, { flunkOnWarnings: true }, SUCCESS, FAILURE, false],
      [WARNINGS, { warnOnWarnings: true, flunkOnWarnings: true }, SUCCESS, FAILURE, false],
      [WARNINGS, { haltOnFailure: true }, SUCCESS, SUCCESS, false],
      [WARNINGS, { warnOnWarnings: true }, FAILURE, FAILURE, false],
      // always terminate, whatever the flags
      [EXCEPTION, {}, SUCCESS, EXCEPTION, true],
      [EXCEPTION, { flunkOnFailure: false }, WARNINGS, EXCEPTION, true],
      [RETRY, {}, FAILURE, RETRY, true],
      [CANCELLED, {}, RETRY, CANCELLED, true],
      [EXCEPTION, {}, CANCELLED, CANCELLED, true],
      // never change the build
      [SUCCESS, {}, WARNINGS, WARNINGS, false],
      [SKIPPED, {}, SUCCESS, SUCCESS, false],
      [SKIPPED, { haltOnFailure: true }, FAILURE, FAILURE, false],
      [SUCCESS, {}, SKIPPED, SUCCESS, false],
    ];
    for (const [step, flags, before, results, terminate] of table) {
      it(`${resultName(step)} with ${JSON.stringify(flags)} after ${resultName(before)} → ${resultName(results)}${terminate ? ', halt' : ''}`, function () {
        expect(mergeStepResult(before, step, flags)).to.deep.equal({ results, terminate });
      });
    }
  });

  it('decides which step summaries reach the build state string', function () {
    expect(buildSummaryPolicy()).to.deep.equal([EXCEPTION, RETRY, CANCELLED, FAILURE]);
    expect(buildSummaryPolicy({ flunkOnFailure: false })).to.deep.equal([EXCEPTION, RETRY, CANCELLED]);
    expect(buildSummaryPolicy({ flunkOnFailure: false, warnOnWarnings: true })).to.deep.equal([EXCEPTION, RETRY, CANCELLED, WARNINGS]);
    expect(stepResultSummary("'make test'", FAILURE)).to.equal("'make test' (failure)");
    expect(stepResultSummary("'make'", SUCCESS)).to.equal("'make'");
  });

  it("builds the final state_string as Build.allStepsDone does", function () {
    expect(buildFinalStateString(SUCCESS)).to.equal('build successful');
    expect(buildFinalStateString(SKIPPED)).to.equal('build successful');
    expect(buildFinalStateString(FAILURE, { stepSummaries: ["'make test' (failure)"] })).to.equal("failed 'make test' (failure)");
    expect(buildFinalStateString(WARNINGS)).to.equal('warnings');
    expect(buildFinalStateString(EXCEPTION)).to.equal('exception');
    expect(buildFinalStateString(RETRY, { stepSummaries: ['lost', 'connection'] })).to.equal('retry lost connection');
    expect(buildFinalStateString(CANCELLED, { stoppedReason: 'stopped by alice' })).to.equal('cancelled (stopped by alice)');
  });
});
