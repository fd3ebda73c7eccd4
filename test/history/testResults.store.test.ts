import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { select } from '../../lib/db/query.js';
import { caseValues, getTestHistory, getTestResults, getTestResultSet, getTestResultSets, parseJUnitXml, recordTestResults } from '../../lib/history/testResults/index.js';
import { seed } from '../db/dataSeed.js';
import { forEachDialect } from '../support/databases.js';
import { buildOn } from './testResultsSupport.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/testResults/${name}`, import.meta.url)), 'utf8');

forEachDialect('test results in Buildbot\'s tables', (h) => {
  it('stores a JUnit report as Buildbot does: pass_fail/boolean, names and code paths per builder, counts, complete', async () => {
    const db = await h.open();
    const s = await seed(db);
    const b = await buildOn(db, s, { revision: 'abc' });
    const cases = parseJUnitXml(fixture('pytest-junit.xml'));
    const set = await recordTestResults(
      db,
      { builderid: s.builderid, buildid: b.buildid, stepid: b.stepid, description: 'pytest', category: 'pass_fail', value_unit: 'boolean' },
      caseValues(cases),
    );
    expect(set).to.include({ tests_passed: 2, tests_failed: 2 });
    const [row] = await select<Record<string, unknown>>(db, 'SELECT * FROM test_result_sets WHERE id = ?', [set.test_result_setid]);
    expect(row).to.include({ builderid: s.builderid, buildid: b.buildid, stepid: b.stepid, description: 'pytest', category: 'pass_fail', value_unit: 'boolean', tests_passed: 2, tests_failed: 2, complete: 1 });
    const results = await select<{ name: string; path: string | null; line: number | null; duration_ns: number | null; value: string }>(
      db,
      `SELECT n.name, p.path, r.line, r.duration_ns, r.value FROM test_results r
       LEFT JOIN test_names n ON n.id = r.test_nameid LEFT JOIN test_code_paths p ON p.id = r.test_code_pathid
       WHERE r.test_result_setid = ? ORDER BY r.id`,
      [set.test_result_setid],
    );
    // Skipped tests are not stored (Buildbot's pass_fail has no third value).
    expect(results).to.deep.equal([
      { name: 'tests.test_math.test_add', path: 'tests/test_math.py', line: 3, duration_ns: 1_000_000, value: '1' },
      { name: 'tests.test_math.test_sub[3-1-2]', path: 'tests/test_math.py', line: 7, duration_ns: 1_000_000, value: '1' },
      { name: 'tests.test_math.test_div', path: 'tests/test_math.py', line: 12, duration_ns: 2_000_000, value: '0' },
      { name: 'tests.test_io.test_open', path: 'tests/test_io.py', line: 5, duration_ns: 0, value: '0' },
    ]);
    // Read back as Buildbot's data API shows them.
    expect(await getTestResultSet(db, set.test_result_setid)).to.deep.equal({
      test_result_setid: set.test_result_setid, builderid: s.builderid, buildid: b.buildid, stepid: b.stepid, description: 'pytest',
      category: 'pass_fail', value_unit: 'boolean', tests_passed: 2, tests_failed: 2, complete: true,
    });
    expect(await getTestResultSets(db, { builderid: s.builderid, buildid: b.buildid, complete: false })).to.deep.equal([]);
    const data = await getTestResults(db, s.builderid, set.test_result_setid);
    expect(data[2]).to.deep.equal({
      test_resultid: data[2].test_resultid, builderid: s.builderid, test_result_setid: set.test_result_setid,
      test_name: 'tests.test_math.test_div', test_code_path: 'tests/test_math.py', line: 12, duration_ns: 2_000_000, value: '0',
    });
    // A second report on the builder reuses the names and paths.
    const b2 = await buildOn(db, s, { revision: 'def' });
    await recordTestResults(db, { builderid: s.builderid, buildid: b2.buildid, stepid: b2.stepid, description: 'pytest', category: 'pass_fail', value_unit: 'boolean' }, caseValues(cases));
    const [{ n }] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM test_names WHERE builderid = ?', [s.builderid]);
    const [{ p }] = await select<{ p: number }>(db, 'SELECT COUNT(*) AS p FROM test_code_paths WHERE builderid = ?', [s.builderid]);
    expect([Number(n), Number(p)]).to.deep.equal([4, 2]);
  });

  it('keeps a duration beyond the INTEGER column out, and counts a fail_only set from the log', async () => {
    const db = await h.open();
    const s = await seed(db);
    const b = await buildOn(db, s);
    const values = caseValues([{ name: 'slow', status: 'pass', durationNs: 5_000_000_000 }]);
    expect(values).to.deep.equal([{ value: '1', test_name: 'slow' }]);
    const set = await recordTestResults(
      db,
      { builderid: s.builderid, buildid: b.buildid, stepid: b.stepid, description: 'make test', category: 'fail_only', value_unit: 'boolean' },
      [{ value: '0', test_name: 't/a.t' }],
      { passed: 41 },
    );
    expect(set).to.include({ tests_passed: 41, tests_failed: 1 });
  });

  it("answers a test's history across builds, workers and branches, newest first, filtered and paged", async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await seed(db, '-2');
    const runs = [
      { revision: 'r1', branch: 'main', worker: 'w-a', value: '1', s },
      { revision: 'r2', branch: 'main', worker: 'w-b', value: '0', s },
      { revision: 'r3', branch: 'release', worker: 'w-a', value: '1', s },
      { revision: 'r3', branch: 'release', worker: 'w-c', value: '0', s: other },
    ];
    for (const r of runs) {
      const b = await buildOn(db, r.s, r);
      await recordTestResults(db, { builderid: r.s.builderid, buildid: b.buildid, stepid: b.stepid, description: 'unit', category: 'pass_fail', value_unit: 'boolean' }, [
        { value: r.value, test_name: 'suite.flaky' },
        { value: '1', test_name: 'suite.steady' },
      ]);
    }
    const all = await getTestHistory(db, { name: 'suite.flaky' });
    expect(all.map((r) => [r.revision, r.branch, r.passed, r.builderid === other.builderid])).to.deep.equal([
      ['r3', 'release', false, true],
      ['r3', 'release', true, false],
      ['r2', 'main', false, false],
      ['r1', 'main', true, false],
    ]);
    expect(new Set(all.map((r) => r.workerid)).size).to.equal(3);
    expect(all[0]).to.include({ test_name: 'suite.flaky', value: '0', category: 'pass_fail', description: 'unit', build_number: 1 });
    expect((await getTestHistory(db, { name: 'suite.flaky', builderid: s.builderid })).map((r) => r.revision)).to.deep.equal(['r3', 'r2', 'r1']);
    expect((await getTestHistory(db, { name: 'suite.flaky', branch: 'main' })).map((r) => r.revision)).to.deep.equal(['r2', 'r1']);
    const page1 = await getTestHistory(db, { name: 'suite.flaky', limit: 2 });
    const page2 = await getTestHistory(db, { name: 'suite.flaky', limit: 2, before: page1[1].test_resultid });
    expect([...page1, ...page2].map((r) => r.test_resultid)).to.deep.equal(all.map((r) => r.test_resultid));
    expect(await getTestHistory(db, { name: 'no.such.test' })).to.deep.equal([]);
  });
});
