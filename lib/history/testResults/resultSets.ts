/**
 * Buildbot's reads of its test tables (db/test_result_sets.py getTestResultSet(s),
 * db/test_results.py getTestResults), shaped as its data API answers them (data/test_result_sets.py,
 * data/test_results.py): what the REST resources `test_result_sets` and `test_results` serve.
 */
import type { Database } from '../../db/connection.js';
import { select } from '../../db/query.js';

export interface TestResultSetData {
  test_result_setid: number;
  builderid: number;
  buildid: number;
  stepid: number;
  description: string | null;
  category: string;
  value_unit: string;
  tests_passed: number | null;
  tests_failed: number | null;
  complete: boolean;
}

export interface TestResultData {
  test_resultid: number;
  builderid: number;
  test_result_setid: number;
  test_name: string | null;
  test_code_path: string | null;
  line: number | null;
  duration_ns: number | null;
  value: string;
}

/** A test_result_sets row as stored (the REST resource reads the same rows). */
export type TestResultSetRow = Omit<TestResultSetData, 'test_result_setid' | 'complete'> & { id: number; complete: number };

const num = (v: number | null) => (v === null ? null : Number(v));

/** A stored row in Buildbot's data-API shape. */
export function setData(r: TestResultSetRow): TestResultSetData {
  return {
    test_result_setid: Number(r.id),
    builderid: Number(r.builderid),
    buildid: Number(r.buildid),
    stepid: Number(r.stepid),
    description: r.description,
    category: r.category,
    value_unit: r.value_unit,
    tests_passed: num(r.tests_passed),
    tests_failed: num(r.tests_failed),
    complete: Boolean(Number(r.complete)),
  };
}

const SET_COLUMNS = 'id, builderid, buildid, stepid, description, category, value_unit, tests_passed, tests_failed, complete';

export async function getTestResultSet(db: Database, setid: number): Promise<TestResultSetData | undefined> {
  const [row] = await select<TestResultSetRow>(db, `SELECT ${SET_COLUMNS} FROM test_result_sets WHERE id = ?`, [setid]);
  return row ? setData(row) : undefined;
}

/** A builder's sets, optionally of one build / step and complete or not, in id order (Buildbot's getTestResultSets). */
export async function getTestResultSets(
  db: Database,
  q: { builderid: number; buildid?: number; stepid?: number; complete?: boolean },
): Promise<TestResultSetData[]> {
  const where = ['builderid = ?'];
  const params: unknown[] = [q.builderid];
  if (q.buildid !== undefined) {
    where.push('buildid = ?');
    params.push(q.buildid);
  }
  if (q.stepid !== undefined) {
    where.push('stepid = ?');
    params.push(q.stepid);
  }
  if (q.complete !== undefined) {
    where.push('complete = ?');
    params.push(q.complete ? 1 : 0);
  }
  const rows = await select<TestResultSetRow>(db, `SELECT ${SET_COLUMNS} FROM test_result_sets WHERE ${where.join(' AND ')} ORDER BY id`, params);
  return rows.map(setData);
}

/** The results of a set, with their test names and code paths (Buildbot's getTestResults), in id order. */
export async function getTestResults(db: Database, builderid: number, setid: number): Promise<TestResultData[]> {
  const rows = await select<TestResultData>(
    db,
    `SELECT r.id AS test_resultid, r.builderid, r.test_result_setid, n.name AS test_name, p.path AS test_code_path, r.line, r.duration_ns, r.value
     FROM test_results r
     LEFT JOIN test_code_paths p ON p.id = r.test_code_pathid AND p.builderid = ?
     LEFT JOIN test_names n ON n.id = r.test_nameid AND n.builderid = ?
     WHERE r.builderid = ? AND r.test_result_setid = ?
     ORDER BY r.id`,
    [builderid, builderid, builderid, setid],
  );
  return rows.map((r) => ({
    ...r,
    test_resultid: Number(r.test_resultid),
    builderid: Number(r.builderid),
    test_result_setid: Number(r.test_result_setid),
    line: num(r.line),
    duration_ns: num(r.duration_ns),
  }));
}
