import { expect } from 'chai';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileDownload, ShellCommand, TestResults } from '../../lib/config/steps.js';
import { validateConfig } from '../../lib/config/validate.js';
import { select } from '../../lib/db/query.js';
import { HistoryAnalyzer } from '../../lib/history/analyzer.js';
import { getTestHistory } from '../../lib/history/testResults/index.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';
import { makeWorld, readBuild, type BuildWorld, useSshdPerSuite } from '../process/buildHarness.js';
import { startApi } from '../www/api/apiFixture.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/testResults/${name}`, import.meta.url));
const SUREFIRE = 'surefire-TEST-com.example.CalculatorTest.xml';

describe('steps: TestResults (real sshd, SFTP)', function () {
  this.timeout(90_000);
  const env = useSshdPerSuite();

  forEachDialect('TestResults', (h) => {
    let w: BuildWorld;
    beforeEach(async () => {
      w = await makeWorld(h, env.sshd, env.ssh);
      await copyFile(fixture(SUREFIRE), join(w.masterBasedir, 'surefire.xml'));
      await copyFile(fixture('prove.tap'), join(w.masterBasedir, 'prove.tap'));
    });

    async function resultSets(buildid: number) {
      const rows = await select<{ stepid: number; description: string; category: string; tests_passed: number; tests_failed: number; complete: number }>(
        w.db,
        'SELECT stepid, description, category, tests_passed, tests_failed, complete FROM test_result_sets WHERE buildid = ? ORDER BY id',
        [buildid],
      );
      return rows.map((r) => ({ ...r, stepid: Number(r.stepid), tests_passed: Number(r.tests_passed), tests_failed: Number(r.tests_failed), complete: Number(r.complete) }));
    }

    it('fetches the surefire report and a TAP file by glob, logs the outcomes as TAP, and the analyzer records them as one set', async () => {
      const config = w.config([
        new FileDownload({ mastersrc: 'surefire.xml', workerdest: 'app/target/surefire-reports/TEST-com.example.CalculatorTest.xml' }),
        new FileDownload({ mastersrc: 'prove.tap', workerdest: 'out/t/prove.tap' }),
        // Decoys: a text file beside the report, an XML outside the glob.
        new ShellCommand({ command: 'echo not a report > app/target/surefire-reports/summary.txt; mkdir -p other && cp app/target/surefire-reports/*.xml other/' }),
        new TestResults({ junit: '**/surefire-reports/TEST-*.xml', tap: ['out/**/*.tap', 'missing/*.tap'] }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(FAILURE);
      const step = stored.step('testresults')!;
      expect(step.results).to.equal(FAILURE);
      expect(step.state_string).to.equal('11 tests 5 passed 3 failed 3 skipped (failure)');
      const lines = step.log('stdio')!.lines;
      expect(lines).to.include('happ/target/surefire-reports/TEST-com.example.CalculatorTest.xml (junit): 5 tests 2 passed 2 failed 1 skipped');
      expect(lines.filter((l) => l.startsWith('h') && l.includes('other/'))).to.deep.equal([]);
      expect(lines).to.include('oTAP version 13').and.include('o1..11').and.include('onot ok 2 - com.example.CalculatorTest.dividesByZero');
      expect(lines).to.include('o  message: "expected: <Infinity> but was: <NaN>"');

      const analyzer = new HistoryAnalyzer({ db: w.db, bus: w.bus, logger: silentLogger() });
      const analysis = await analyzer.analyzeStep(Number(step.id));
      expect(analysis.errors, 'TAP lines are no error lines').to.equal(0);
      expect(await resultSets(build.buildid)).to.deep.equal([
        { stepid: Number(step.id), description: 'testresults', category: 'pass_fail', tests_passed: 5, tests_failed: 3, complete: 1 },
      ]);
      const history = await getTestHistory(w.db, { name: 'com.example.CalculatorTest.dividesByZero' });
      expect(history.map((r) => [r.buildid, r.passed, r.duration_ns])).to.deep.equal([[build.buildid, false, 11_000_000]]);
      expect((await getTestHistory(w.db, { name: 'com.example.CalculatorTest.roundsHalfUp' })).length, 'skipped: not stored').to.equal(0);
      await analyzer.analyzeStep(Number(step.id));
      expect(await resultSets(build.buildid)).to.have.length(1);

      // The REST queries docs/history.md shows.
      const { server, get } = await startApi(w.db);
      try {
        const sets = (await get(`/builders/${w.builderid}/test_result_sets?order=-test_result_setid&limit=20`)).body.test_result_sets;
        expect(sets.map((s: { description: string }) => s.description)).to.deep.equal(['testresults']);
        const setid = sets[0].test_result_setid;
        const one = (await get(`/test_result_sets/${setid}/results?test_name=com.example.CalculatorTest.dividesByZero`)).body.test_results;
        expect(one.map((r: { value: string; duration_ns: number }) => [r.value, r.duration_ns])).to.deep.equal([['0', 11_000_000]]);
        const failed = (await get(`/test_result_sets/${setid}/results?value=0`)).body.test_results;
        expect(failed.map((r: { test_name: string }) => r.test_name)).to.have.length(3);
      } finally {
        await server.stop();
      }
    });

    it('no matching file fails unless allowEmptyResults; maxsize refuses a large report; passing tests succeed', async () => {
      const config = w.config([
        new FileDownload({ mastersrc: 'surefire.xml', workerdest: 'reports/TEST-a.xml' }),
        new ShellCommand({ command: `printf 'TAP version 13\\n1..2\\nok 1 - a \\\\# b\\nok 2 - c\\n' > ok.tap` }),
        new TestResults({ name: 'none', junit: 'nothing/*.xml', flunkOnFailure: false }),
        new TestResults({ name: 'none-allowed', junit: 'nothing/*.xml', allowEmptyResults: true }),
        new TestResults({ name: 'too-big', junit: 'reports/*.xml', maxsize: 100, flunkOnFailure: false }),
        new TestResults({ name: 'passing', tap: 'ok.tap' }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(SUCCESS);
      expect(stored.step('none')!.results).to.equal(FAILURE);
      expect(stored.step('none')!.log('stdio')!.lines.at(-1)).to.equal('hno file matches junit nothing/*.xml');
      expect(stored.step('none-allowed')!.results).to.equal(SUCCESS);
      expect(stored.step('too-big')!.results).to.equal(FAILURE);
      expect(stored.step('too-big')!.log('stdio')!.lines.at(-1)).to.match(/^hMaximum filesize reached: '.*reports\/TEST-a\.xml' has \d+ bytes, maxsize is 100$/);
      const passing = stored.step('passing')!;
      expect([passing.results, passing.state_string]).to.deep.equal([SUCCESS, '2 tests 2 passed']);

      const analyzer = new HistoryAnalyzer({ db: w.db, bus: w.bus, logger: silentLogger() });
      for (const s of stored.steps) await analyzer.analyzeStep(Number(s.id));
      expect((await resultSets(build.buildid)).map((s) => [s.description, s.tests_passed, s.tests_failed])).to.deep.equal([['passing', 2, 0]]);
      expect((await getTestHistory(w.db, { name: 'a # b' })).map((r) => r.passed)).to.deep.equal([true]);
    });
  });

  it('config: junit and tap take a glob or a list; one of them is needed', () => {
    const ok = validateConfig({ builders: [], workers: [] }, '/srv/m');
    expect(ok.ok).to.equal(true);
    const step = (options: Record<string, unknown>) => {
      const r = validateConfig(
        {
          workers: [{ name: 'w', host: 'h', basedir: '/b' }],
          builders: [{ name: 'b', workernames: ['w'], steps: [new TestResults(options as never)] }],
        },
        '/srv/m',
      );
      return r.ok ? r.config.builders[0]!.steps[0] : r.problems.map((p) => `${p.path}: ${p.message}`);
    };
    expect(step({ junit: 'target/surefire-reports/*.xml' })).to.include({ kind: 'TestResults', name: 'testresults', allowEmptyResults: false });
    expect(step({ junit: 'a/*.xml', tap: ['b.tap', 'c/*.tap'] })).to.deep.include({ junit: ['a/*.xml'], tap: ['b.tap', 'c/*.tap'] });
    expect(step({})).to.deep.equal(['builders[0].steps[0].junit: needs junit or tap (a glob of report files)']);
    expect((step({ junit: 3 }) as string[])[0]).to.match(/^builders\[0\]\.steps\[0\]\.junit: expected a glob or an array of globs/);
  });
});

