import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from '../../lib/db/connection.js';
import { addLog, appendLogChunks, finishLog } from '../../lib/db/logs.js';
import { select } from '../../lib/db/query.js';
import { completeStep } from '../../lib/db/steps.js';
import { HistoryAnalyzer, type StepAnalysis } from '../../lib/history/analyzer.js';
import { occurrencesOfBuild } from '../../lib/history/failures.js';
import { getIntermittentTests } from '../../lib/history/intermittents.js';
import { getTestHistory } from '../../lib/history/testResults/index.js';
import { encodeChunks } from '../../lib/logs/chunkCodec.js';
import { MessageBus } from '../../lib/master/bus.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { silentLogger } from '../../lib/util/log.js';
import { seed, type Seed } from '../db/dataSeed.js';
import { forEachDialect } from '../support/databases.js';
import { buildOn } from './testResultsSupport.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/testResults/${name}`, import.meta.url)), 'utf8');

/** A finished log of the step: stdio lines carry their channel ('h' header, 'o' out, 'e' err). */
async function writeLog(db: Database, stepid: number, name: string, lines: string[], type: 's' | 't' = 's'): Promise<number> {
  const { logid } = await addLog(db, stepid, name, type);
  // Several small chunks, as a running build writes them: the analyzer must read across them.
  for (let i = 0; i < lines.length; i += 3) await appendLogChunks(db, logid, encodeChunks(lines.slice(i, i + 3), i), Math.min(lines.length, i + 3));
  await finishLog(db, logid);
  return logid;
}

const STDIO = [
  'hmake test',
  'h in dir /home/ci/build',
  'ogcc -c src/main.c',
  "esrc/main.c:12:5: error: 'x' undeclared (first use in this function)",
  'omake: *** [Makefile:4: all] Error 1',
  'o============================= test session starts ==============================',
  'otests/test_math.py .F.',
  'oFAILED tests/test_math.py::test_div - assert 0.5 == 2',
  'o========================= 1 failed, 10 passed in 0.12s =========================',
];

forEachDialect('HistoryAnalyzer', (h) => {
  let analyzer: HistoryAnalyzer | undefined;
  afterEach(async () => {
    await analyzer?.stop();
    analyzer = undefined;
  });

  async function finishedStep(db: Database, s: Seed, results: number, logs: [string, string[], ('s' | 't')?][], revision = 'rev1') {
    const b = await buildOn(db, s, { revision, branch: 'main' });
    const logids: number[] = [];
    for (const [name, lines, type] of logs) logids.push(await writeLog(db, b.stepid, name, lines, type));
    await completeStep(db, b.stepid, { results, completeAt: 4000, hidden: false, stateString: 'done' });
    return { ...b, logids };
  }

  function analyzed(bus: MessageBus, stepid: number): Promise<StepAnalysis> {
    return bus.waitFor<StepAnalysis>(['history', String(stepid), 'analyzed'], () => true, 30_000).then((e) => e.message);
  }

  it("stores a failing build's error lines and the test names and counts its log printed", async () => {
    const db = await h.open();
    const s = await seed(db);
    const bus = new MessageBus();
    analyzer = HistoryAnalyzer.start({ db, bus, logger: silentLogger() });
    const step = await finishedStep(db, s, FAILURE, [['stdio', STDIO]]);
    const done = analyzed(bus, step.stepid);
    bus.publish(['steps', String(step.stepid), 'finished'], { stepid: step.stepid });
    const result = await done;
    expect(result).to.include({ stepid: step.stepid, buildid: step.buildid, errors: 3 });

    const occurrences = await occurrencesOfBuild(db, step.buildid);
    expect(occurrences.map((o) => [o.line, o.text])).to.deep.equal([
      [4, "src/main.c:12:5: error: 'x' undeclared (first use in this function)"],
      [5, 'make: *** [Makefile:4: all] Error 1'],
      [8, 'FAILED tests/test_math.py::test_div - assert 0.5 == 2'],
    ]);
    expect(occurrences.map((o) => o.test)).to.deep.equal([null, null, 'tests/test_math.py::test_div']);
    expect(occurrences[0]).to.include({ logid: step.logids[0], builderid: s.builderid, workerid: step.workerid, branch: 'main', revision: 'rev1', stepid: step.stepid });

    const sets = await select<Record<string, unknown>>(db, 'SELECT * FROM test_result_sets WHERE buildid = ?', [step.buildid]);
    expect(sets).to.have.length(1);
    expect(sets[0]).to.include({ stepid: step.stepid, description: 'test', category: 'fail_only', value_unit: 'boolean', tests_passed: 10, tests_failed: 1, complete: 1 });
    const history = await getTestHistory(db, { name: 'tests/test_math.py::test_div' });
    expect(history.map((r) => [r.buildid, r.passed, r.value])).to.deep.equal([[step.buildid, false, '0']]);
  });

  it('records the error lines of every log of the step, each with its own log, once', async () => {
    const db = await h.open();
    const s = await seed(db);
    const bus = new MessageBus();
    analyzer = new HistoryAnalyzer({ db, bus, logger: silentLogger() });
    const step = await finishedStep(db, s, FAILURE, [
      ['stdio', ['hmake', 'ocompiling', "esrc/a.c:1:1: error: 'a' undeclared"]],
      ['build.log', ['linking', "/usr/bin/ld: cannot find -lfoo", 'done'], 't'],
      ['quiet.log', ['nothing to see'], 't'],
    ]);
    expect((await analyzer.analyzeStep(step.stepid)).errors).to.equal(2);
    await analyzer.analyzeStep(step.stepid); // again: idempotent per step
    const occurrences = await occurrencesOfBuild(db, step.buildid);
    // In line order (occurrencesOfBuild), whatever the log.
    expect(occurrences.map((o) => [o.logid, o.line, o.text])).to.deep.equal([
      [step.logids[1], 2, '/usr/bin/ld: cannot find -lfoo'],
      [step.logids[0], 3, "src/a.c:1:1: error: 'a' undeclared"],
    ]);
  });

  it('takes its error-line cap and intermittent policy from its options and from reconfig', async () => {
    const db = await h.open();
    const s = await seed(db);
    const bus = new MessageBus();
    analyzer = new HistoryAnalyzer({ db, bus, logger: silentLogger(), maxErrorLines: 1, policy: { window: 1 } });
    const tap = (flaky: string) => ['hsh run.sh', 'oTAP version 13', 'o1..2', 'ook 1 - steady', `o${flaky} 2 - flaky`, 'oerror: one', 'oerror: two'];
    const first = await finishedStep(db, s, FAILURE, [['stdio', tap('not ok')]], 'abc');
    expect((await analyzer.analyzeStep(first.stepid)).errors).to.equal(1);
    const second = await finishedStep(db, s, SUCCESS, [['stdio', tap('ok')]], 'abc');
    expect((await analyzer.analyzeStep(second.stepid)).intermittent.filter((v) => v.intermittent)).to.deep.equal([]);
    analyzer.reconfig({ maxErrorLines: 5, policy: { window: 20 } });
    const third = await finishedStep(db, s, FAILURE, [['stdio', tap('ok')]], 'abc');
    const result = await analyzer.analyzeStep(third.stepid);
    expect(result.errors).to.equal(2);
    expect(result.intermittent.map((v) => [v.name, v.intermittent, v.reason])).to.deep.equal([['flaky', true, 'same_revision']]);
  });

  it('reads a JUnit report and a TAP log of the step as pass_fail sets; a passing step stores no error lines', async () => {
    const db = await h.open();
    const s = await seed(db);
    const bus = new MessageBus();
    analyzer = HistoryAnalyzer.start({ db, bus, logger: silentLogger() });
    const junit = fixture('surefire-TEST-com.example.CalculatorTest.xml').split('\n').map((l) => `o${l}`);
    const tap = fixture('prove.tap').trimEnd().split('\n');
    const step = await finishedStep(db, s, SUCCESS, [
      ['stdio', ['hmvn test', 'o[ERROR] Tests run: 5, Failures: 1, Errors: 1, Skipped: 1']],
      ['TEST-com.example.CalculatorTest.xml', junit],
      ['prove.tap', tap, 't'],
    ]);
    const done = analyzed(bus, step.stepid);
    bus.publish(['steps', String(step.stepid), 'finished'], {});
    const result = await done;
    expect(result.errors).to.equal(0);
    expect(await occurrencesOfBuild(db, step.buildid)).to.deep.equal([]);
    const sets = await select<{ description: string; category: string; tests_passed: number; tests_failed: number }>(
      db,
      'SELECT description, category, tests_passed, tests_failed FROM test_result_sets WHERE buildid = ? ORDER BY id',
      [step.buildid],
    );
    expect(sets.map((r) => ({ ...r, tests_passed: Number(r.tests_passed), tests_failed: Number(r.tests_failed) }))).to.deep.equal([
      { description: 'test TEST-com.example.CalculatorTest.xml', category: 'pass_fail', tests_passed: 2, tests_failed: 2 },
      { description: 'test prove.tap', category: 'pass_fail', tests_passed: 3, tests_failed: 1 },
    ]);
    expect((await getTestHistory(db, { name: 'com.example.CalculatorTest.dividesByZero' }))[0]).to.include({ passed: false, duration_ns: 11_000_000 });
    // Analysing the same step again adds nothing.
    await analyzer.analyzeStep(step.stepid);
    const [{ n }] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM test_result_sets WHERE buildid = ?', [step.buildid]);
    expect(Number(n)).to.equal(2);
  });

  it('marks a TAP test that failed, then passed on a rebuild of the same revision', async () => {
    const db = await h.open();
    const s = await seed(db);
    const bus = new MessageBus();
    analyzer = HistoryAnalyzer.start({ db, bus, logger: silentLogger() });
    const first = await finishedStep(db, s, FAILURE, [['stdio', ['hsh run.sh', 'oTAP version 13', 'o1..2', 'ook 1 - steady', 'onot ok 2 - flaky']]], 'abc');
    const second = await finishedStep(db, s, SUCCESS, [['stdio', ['hsh run.sh', 'oTAP version 13', 'o1..2', 'ook 1 - steady', 'ook 2 - flaky']]], 'abc');
    const done = analyzed(bus, second.stepid);
    bus.publish(['steps', String(first.stepid), 'finished'], {});
    bus.publish(['steps', String(second.stepid), 'finished'], {});
    const result = await done;
    expect(result.intermittent.map((v) => [v.name, v.intermittent, v.reason])).to.deep.equal([['flaky', true, 'same_revision']]);
    expect((await getIntermittentTests(db))[0]).to.include({ test_name: 'flaky', runs: 2, failures: 1, fail_rate: 0.5, revision: 'abc' });
  });

  it('queues without waiting, one step at a time, and drops steps beyond its bound', async () => {
    const db = await h.open();
    const bus = new MessageBus();
    analyzer = HistoryAnalyzer.start({ db, bus, logger: silentLogger(), maxQueue: 2 });
    const seen: number[] = [];
    bus.subscribe(['history', '*', 'analyzed'], (_k, m) => seen.push((m as StepAnalysis).stepid));
    // Unknown steps: analysed as "not finished", which is enough to see the queue at work.
    for (const id of [101, 102, 103, 101]) bus.publish(['steps', String(id), 'finished'], {});
    expect(seen).to.deep.equal([]); // nothing ran inside publish
    await analyzer.idle();
    expect(seen).to.deep.equal([101, 102]);
  });
});
