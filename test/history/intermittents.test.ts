import { expect } from 'chai';
import { select } from '../../lib/db/query.js';
import {
  classifyRuns,
  DEFAULT_INTERMITTENT_POLICY,
  evaluateIntermittents,
  getIntermittentTests,
  type RunOutcome,
} from '../../lib/history/intermittents.js';
import { recordTestResults } from '../../lib/history/testResults/index.js';
import { seed } from '../db/dataSeed.js';
import { forEachDialect } from '../support/databases.js';
import { buildOn } from './testResultsSupport.js';

/** 'PF.' newest first: P pass, F fail; each run on its own revision unless given. */
function runs(pattern: string, revisions?: (string | null)[]): RunOutcome[] {
  return [...pattern].map((c, i) => {
    const rev = revisions ? revisions[i] : `r${pattern.length - i}`;
    return { passed: c === 'P', revisionKey: rev, revision: rev };
  });
}

describe('classifyRuns (intermittent thresholds)', function () {
  it('marks a test that failed and passed on one revision, whatever its rate', function () {
    expect(classifyRuns(runs('PF', ['abc', 'abc']))).to.deep.equal({ intermittent: true, reason: 'same_revision', revision: 'abc', runs: 2, failures: 1, failRate: 0.5 });
    // Unknown revisions never count as the same one.
    expect(classifyRuns(runs('PF', [null, null])).intermittent).to.equal(false);
  });

  it('marks by pass rate only with enough runs, a rate strictly inside (0, 0.9), and two recoveries', function () {
    const flaky = classifyRuns(runs('PFPPFPPPFP'));
    expect(flaky).to.deep.include({ intermittent: true, reason: 'pass_rate', runs: 10, failures: 3 });
    expect(flaky.failRate).to.be.closeTo(0.3, 1e-9);
    expect(classifyRuns(runs('PFPF')).intermittent, 'fewer than minRuns').to.equal(false);
    expect(classifyRuns(runs('PPPPP')).intermittent, 'rate 0').to.equal(false);
    expect(classifyRuns(runs('FFFFFFFFFF')).intermittent, 'rate 1').to.equal(false);
    // 9 of 10 failed: rate 0.9 is not below the maximum.
    expect(classifyRuns(runs('FFFFPFFFFF')).intermittent, 'rate 0.9').to.equal(false);
    expect(classifyRuns(runs('FFPFFFPFFP'))).to.deep.include({ intermittent: true, failures: 7 });
    // A regression (passing, then failing from one commit on) has no recovery: not flaky.
    expect(classifyRuns(runs('FFFPPPPPPP')).intermittent, 'regression').to.equal(false);
    // Broken once and fixed: one recovery, not two.
    expect(classifyRuns(runs('PPFFPPPP')).intermittent, 'fixed regression').to.equal(false);
  });

  it('looks only at the last `window` runs, and takes another policy', function () {
    const old = 'P'.repeat(20) + 'FPFPFP';
    expect(classifyRuns(runs(old)).intermittent).to.equal(false);
    expect(classifyRuns(runs(old), { ...DEFAULT_INTERMITTENT_POLICY, window: 30 }).intermittent).to.equal(true);
    expect(classifyRuns(runs('PPFPP'), { ...DEFAULT_INTERMITTENT_POLICY, minRecoveries: 1 }).intermittent).to.equal(true);
  });
});

forEachDialect('intermittent marks', (h) => {
  async function record(db: Awaited<ReturnType<typeof h.open>>, s: Awaited<ReturnType<typeof seed>>, revision: string, values: Record<string, string>, category = 'pass_fail') {
    const b = await buildOn(db, s, { revision });
    const set = await recordTestResults(
      db,
      { builderid: s.builderid, buildid: b.buildid, stepid: b.stepid, description: 'unit', category, value_unit: 'boolean' },
      Object.entries(values).map(([test_name, value]) => ({ test_name, value })),
    );
    return { buildid: b.buildid, setid: set.test_result_setid };
  }

  it('marks a test that fails then passes on a rebuild of the same revision, and lists it with its rate', async () => {
    const db = await h.open();
    const s = await seed(db);
    await record(db, s, 'r1', { 'a.flaky': '1', 'a.steady': '1' });
    const first = await record(db, s, 'r2', { 'a.flaky': '0', 'a.steady': '1' });
    const firstVerdicts = await evaluateIntermittents(db, { builderid: s.builderid, setids: [first.setid], buildid: first.buildid });
    expect(firstVerdicts.map((v) => [v.name, v.intermittent])).to.deep.equal([['a.flaky', false]]);
    const rebuild = await record(db, s, 'r2', { 'a.flaky': '1', 'a.steady': '1' });
    const verdicts = await evaluateIntermittents(db, { builderid: s.builderid, setids: [rebuild.setid], buildid: rebuild.buildid }, undefined, 5000);
    expect(verdicts).to.have.length(1);
    expect(verdicts[0]).to.include({ name: 'a.flaky', intermittent: true, reason: 'same_revision', revision: 'r2', runs: 3, failures: 1 });
    const list = await getIntermittentTests(db, { builderid: s.builderid });
    expect(list).to.have.length(1);
    expect(list[0]).to.include({ test_name: 'a.flaky', builderid: s.builderid, reason: 'same_revision', runs: 3, failures: 1, revision: 'r2', first_marked_at: 5000, updated_at: 5000, last_buildid: rebuild.buildid });
    expect(list[0].fail_rate).to.be.closeTo(1 / 3, 1e-9);
    expect(await getIntermittentTests(db, { name: 'a.steady' })).to.deep.equal([]);
  });

  it('keeps first_marked_at on re-evaluation and clears the mark once the flaky runs leave the window', async () => {
    const db = await h.open();
    const s = await seed(db);
    const policy = { ...DEFAULT_INTERMITTENT_POLICY, window: 4 };
    const a = await record(db, s, 'x', { t: '0' });
    const b = await record(db, s, 'x', { t: '1' });
    await evaluateIntermittents(db, { builderid: s.builderid, setids: [a.setid, b.setid], buildid: b.buildid }, policy, 100);
    const c = await record(db, s, 'y', { t: '1' });
    await evaluateIntermittents(db, { builderid: s.builderid, setids: [c.setid], buildid: c.buildid }, policy, 200);
    expect(await getIntermittentTests(db)).to.have.length(1);
    expect((await getIntermittentTests(db))[0]).to.include({ first_marked_at: 100, updated_at: 200, runs: 3 });
    for (const rev of ['z1', 'z2', 'z3']) {
      const r = await record(db, s, rev, { t: '1' });
      await evaluateIntermittents(db, { builderid: s.builderid, setids: [r.setid], buildid: r.buildid }, policy, 300);
    }
    expect(await getIntermittentTests(db)).to.deep.equal([]);
    const [{ n }] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM intermittent_tests');
    expect(Number(n)).to.equal(0);
  });

  it('counts a later fail_only set of the same step that does not name the test as a pass', async () => {
    const db = await h.open();
    const s = await seed(db);
    const failed = await record(db, s, 'q', { 'make.check': '0' }, 'fail_only');
    const clean = await record(db, s, 'q', {}, 'fail_only');
    const verdicts = await evaluateIntermittents(db, { builderid: s.builderid, setids: [failed.setid, clean.setid], buildid: clean.buildid });
    expect(verdicts).to.deep.equal([{ name: 'make.check', builderid: s.builderid, intermittent: true, reason: 'same_revision', revision: 'q', runs: 2, failures: 1, failRate: 0.5 }]);
  });
});
