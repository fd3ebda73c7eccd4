/**
 * test_result_sets and test_results (Buildbot's data/test_result_sets.py, test_results.py): a
 * builder's, build's or step's result sets, one set, and a set's results (names and code paths
 * joined in from test_names and test_code_paths).
 */
import { setData, type TestResultSetRow } from '../../../history/testResults/resultSets.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { builderIdOf } from '../nesting.js';
import { cond, selectPage, type Condition, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest } from '../types.js';

const TEST_RESULT_SET = {
  name: 'test_result_set',
  plural: 'test_result_sets',
  fields: {
    test_result_setid: F.int(),
    builderid: F.int(),
    buildid: F.int(),
    stepid: F.int(),
    description: F.str(true),
    category: F.str(),
    value_unit: F.str(),
    tests_passed: F.int(true),
    tests_failed: F.int(true),
    complete: F.bool(),
  },
};

const TEST_RESULT = {
  name: 'test_result',
  plural: 'test_results',
  fields: {
    test_resultid: F.int(),
    builderid: F.int(),
    test_result_setid: F.int(),
    test_name: F.str(true),
    test_code_path: F.str(true),
    line: F.int(true),
    duration_ns: F.int(true),
    value: F.str(),
  },
};

const SETS: SqlSource = {
  from: 'test_result_sets s',
  select: 's.id, s.builderid, s.buildid, s.stepid, s.description, s.category, s.value_unit, s.tests_passed, s.tests_failed, s.complete',
  columns: {
    test_result_setid: 's.id',
    builderid: 's.builderid',
    buildid: 's.buildid',
    stepid: 's.stepid',
    description: 's.description',
    category: 's.category',
    value_unit: 's.value_unit',
    tests_passed: 's.tests_passed',
    tests_failed: 's.tests_failed',
    complete: '(s.complete <> 0)',
  },
};

const RESULTS: SqlSource = {
  from: 'test_results r LEFT JOIN test_names n ON n.id = r.test_nameid LEFT JOIN test_code_paths p ON p.id = r.test_code_pathid',
  select: 'r.id, r.builderid, r.test_result_setid, n.name AS test_name, p.path AS test_code_path, r.line, r.duration_ns, r.value',
  columns: {
    test_resultid: 'r.id',
    builderid: 'r.builderid',
    test_result_setid: 'r.test_result_setid',
    test_name: 'n.name',
    test_code_path: 'p.path',
    line: 'r.line',
    duration_ns: 'r.duration_ns',
    value: 'r.value',
  },
};

const num = (v: number | null) => (v === null ? null : Number(v));

/** A set in Buildbot's shape: the same mapping the history's own reads use. */
const toSet = (r: TestResultSetRow): Item => ({ ...setData(r) });

async function listSets(r: ApiRequest) {
  const where: Condition[] = [];
  if (typeof r.args.stepid === 'number') where.push(cond('s.stepid = ?', r.args.stepid));
  else if (typeof r.args.buildid === 'number') where.push(cond('s.buildid = ?', r.args.buildid));
  else {
    const builderid = await builderIdOf(r.db, r.args);
    if (builderid === undefined) return { items: [] };
    where.push(cond('s.builderid = ?', builderid));
  }
  const page = await selectPage<TestResultSetRow>(r.db, SETS, r.spec, where, 's.id');
  return { items: page.rows.map(toSet), total: page.total };
}

type ResultRow = { id: number; builderid: number; test_result_setid: number; test_name: string | null; test_code_path: string | null; line: number | null; duration_ns: number | null; value: string };

async function listResults(r: ApiRequest) {
  const page = await selectPage<ResultRow>(r.db, RESULTS, r.spec, [cond('r.test_result_setid = ?', r.args.test_result_setid)], 'r.id');
  return {
    items: page.rows.map((x) => ({
      test_resultid: Number(x.id),
      builderid: Number(x.builderid),
      test_result_setid: Number(x.test_result_setid),
      test_name: x.test_name,
      test_code_path: x.test_code_path,
      line: num(x.line),
      duration_ns: num(x.duration_ns),
      value: x.value,
    })),
    total: page.total,
  };
}

export const testResultsModule: ApiModule = {
  endpoints: [
    {
      type: TEST_RESULT_SET,
      kind: 'collection',
      paths: '/builders/n:builderid/test_result_sets /builders/i:buildername/test_result_sets /builds/n:buildid/test_result_sets /steps/n:stepid/test_result_sets',
      get: listSets,
    },
    {
      type: TEST_RESULT_SET,
      kind: 'item',
      paths: '/test_result_sets/n:test_result_setid',
      get: async (r) => {
        const { rows } = await selectPage<TestResultSetRow>(r.db, SETS, r.spec, [cond('s.id = ?', r.args.test_result_setid)]);
        return rows[0] && toSet(rows[0]);
      },
    },
    { type: TEST_RESULT, kind: 'collection', paths: '/test_result_sets/n:test_result_setid/results', get: listResults },
  ],
};
