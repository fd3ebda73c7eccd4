/**
 * Test results in Buildbot's tables, written exactly as Buildbot 3.7 writes them (db/
 * test_result_sets.py, db/test_results.py, util/test_result_submitter.py), so its REST
 * `test_result_sets` / `test_results` answers hold: a set is added incomplete, its results go in
 * (test names and code paths found or created per builder), then it is completed with the
 * pass/fail counts Buildbot's submitter computes from the category. And the reads that ask by
 * test: a test's history across builds, workers and branches.
 *
 * The statements are written out here, run through lib/db/query.ts (no Sequelize).
 */
import type { Database } from '../../db/connection.js';
import { batches, insert, select, update, valuesList } from '../../db/query.js';
import type { TestCase } from './types.js';

/** A test_result_sets row before it is stored (Buildbot's addTestResultSet arguments). */
export interface TestResultSetSpec {
  builderid: number;
  buildid: number;
  stepid: number;
  description: string | null;
  /** Buildbot's categories: 'pass_fail' (value '1'/'0'), 'fail_only', 'pass_only', 'code_issue', …. */
  category: string;
  /** 'boolean' for pass/fail. */
  value_unit: string;
}

/** One result as Buildbot's addTestResults takes it: a value and a test name and/or code path. */
export interface TestResultValue {
  value: string;
  test_name?: string;
  test_code_path?: string;
  line?: number;
  duration_ns?: number;
}

export interface RecordedSet {
  test_result_setid: number;
  tests_passed: number | null;
  tests_failed: number | null;
}

/** test_results.duration_ns is an INTEGER: MySQL refuses more than 2^31-1 ns (≈ 2.1 s). */
const MAX_INT32 = 2_147_483_647;

/** Parsed cases → pass_fail/boolean values: '1' passed, '0' failed; skipped tests are not stored. */
export function caseValues(cases: readonly TestCase[]): TestResultValue[] {
  const out: TestResultValue[] = [];
  for (const c of cases) {
    if (c.status === 'skip') continue;
    const v: TestResultValue = { value: c.status === 'pass' ? '1' : '0', test_name: c.name };
    if (c.file) v.test_code_path = c.file;
    if (c.line !== undefined && c.line <= MAX_INT32) v.line = c.line;
    if (c.durationNs !== undefined && c.durationNs <= MAX_INT32) v.duration_ns = c.durationNs;
    out.push(v);
  }
  return out;
}

/** Buildbot's TestResultSubmitter counting: by category, from the values. */
function countByCategory(category: string, valueUnit: string, values: readonly TestResultValue[]): { passed: number | null; failed: number | null } {
  if (category === 'pass_fail' && valueUnit === 'boolean') {
    let passed = 0;
    for (const v of values) if (Number.parseInt(v.value, 10)) passed++;
    return { passed, failed: values.length - passed };
  }
  if (category === 'pass_only') return { passed: values.length, failed: 0 };
  if (category === 'fail_only' || category === 'code_issue') return { passed: 0, failed: values.length };
  return { passed: null, failed: null };
}

/**
 * Stores one result set with its results and completes it. `counts` overrides the counts
 * Buildbot's rules give (a log tells how many passed without naming them).
 */
export async function recordTestResults(
  db: Database,
  set: TestResultSetSpec,
  results: readonly TestResultValue[],
  counts: { passed?: number | null; failed?: number | null } = {},
): Promise<RecordedSet> {
  const { insertId: setid } = await insert(
    db,
    `INSERT INTO test_result_sets (builderid, buildid, stepid, description, category, value_unit, complete)
     VALUES (?, ?, ?, ?, ?, ?, 0)`,
    [set.builderid, set.buildid, set.stepid, set.description, set.category, set.value_unit],
  );
  await addTestResults(db, set.builderid, setid, results);
  const byCategory = countByCategory(set.category, set.value_unit, results);
  const passed = counts.passed !== undefined ? counts.passed : byCategory.passed;
  const failed = counts.failed !== undefined ? counts.failed : byCategory.failed;
  // Buildbot's completeTestResultSet: only an incomplete set, counts only when known.
  await update(
    db,
    `UPDATE test_result_sets SET complete = 1, tests_passed = COALESCE(?, tests_passed), tests_failed = COALESCE(?, tests_failed)
     WHERE id = ? AND complete = 0`,
    [passed, failed, setid],
  );
  return { test_result_setid: setid, tests_passed: passed, tests_failed: failed };
}

/** Buildbot's addTestResults: names and code paths found or created for the builder, then the rows. */
export async function addTestResults(db: Database, builderid: number, setid: number, results: readonly TestResultValue[]): Promise<void> {
  if (results.length === 0) return;
  const names = await findOrCreateTexts(db, 'test_names', 'name', builderid, results.map((r) => r.test_name));
  const paths = await findOrCreateTexts(db, 'test_code_paths', 'path', builderid, results.map((r) => r.test_code_path));
  for (const batch of batches(db, results, 7)) {
    await insert(
      db,
      `INSERT INTO test_results (builderid, test_result_setid, test_nameid, test_code_pathid, line, duration_ns, value) VALUES ${valuesList(batch.length, 7)}`,
      batch.flatMap((r) => [
        builderid,
        setid,
        r.test_name !== undefined ? names.get(r.test_name)! : null,
        r.test_code_path !== undefined ? paths.get(r.test_code_path)! : null,
        r.line ?? null,
        r.duration_ns ?? null,
        r.value,
      ]),
    );
  }
}

/**
 * The ids of `values` in test_names or test_code_paths for the builder, inserting the missing
 * ones (Buildbot's _add_names / _add_code_paths). Buildbot's index on (builderid, name) is not
 * unique, so two masters adding the same new name at once may both insert it: the lowest id is
 * used, and the history reads go by name, so such a twin splits nothing.
 */
async function findOrCreateTexts(
  db: Database,
  table: 'test_names' | 'test_code_paths',
  column: 'name' | 'path',
  builderid: number,
  values: readonly (string | undefined)[],
): Promise<Map<string, number>> {
  const wanted = [...new Set(values.filter((v): v is string => v !== undefined))];
  const ids = new Map<string, number>();
  const lookup = async (batch: readonly string[]) => {
    const rows = await select<{ id: number; v: string }>(
      db,
      `SELECT id, ${column} AS v FROM ${table} WHERE builderid = ? AND ${column} IN (?) ORDER BY id`,
      [builderid, batch],
    );
    for (const r of rows) if (!ids.has(r.v)) ids.set(r.v, Number(r.id));
  };
  for (const batch of batches(db, wanted, 1)) {
    await lookup(batch);
    const missing = batch.filter((v) => !ids.has(v));
    if (missing.length === 0) continue;
    for (const part of batches(db, missing, 2)) {
      await insert(db, `INSERT INTO ${table} (builderid, ${column}) VALUES ${valuesList(part.length, 2)}`, part.flatMap((v) => [builderid, v]));
    }
    await lookup(missing);
  }
  return ids;
}

/** One stored result of a test, with where and on what it ran. */
export interface TestRun {
  test_resultid: number;
  test_result_setid: number;
  test_name: string;
  builderid: number;
  buildid: number;
  build_number: number;
  stepid: number;
  workerid: number | null;
  /** As stored ('1'/'0' for pass_fail/boolean). */
  value: string;
  /** From value for pass_fail/boolean sets (fail_only: false); null for other categories. */
  passed: boolean | null;
  category: string;
  description: string | null;
  duration_ns: number | null;
  line: number | null;
  test_code_path: string | null;
  /** The build's times (epoch s). */
  started_at: number;
  complete_at: number | null;
  /** The build's first source stamp (by codebase): its branch and revision. */
  branch: string | null;
  revision: string | null;
}

export interface TestHistoryQuery {
  /** The test's name as stored (JUnit `classname.name`, TAP description, runner's name). */
  name: string;
  /** Only this builder's runs (default: every builder's). */
  builderid?: number;
  /** Only builds of this branch. */
  branch?: string;
  /** Newest first, at most this many (default 100, at most 1000). */
  limit?: number;
  /** Only results older than this test_resultid (paging). */
  before?: number;
}

type HistoryRow = Omit<TestRun, 'passed' | 'branch' | 'revision'> & { buildrequestid: number | null; value_unit: string };

/**
 * A test's results across builds, workers and branches, newest first: test_names (by name) →
 * test_results → test_result_sets → builds, then the builds' source stamps. Uses
 * test_names_by_name (or Buildbot's (builderid, name)) and test_results(test_nameid).
 */
export async function getTestHistory(db: Database, q: TestHistoryQuery): Promise<TestRun[]> {
  const limit = Math.max(1, Math.min(1000, Math.floor(q.limit ?? 100)));
  const where: string[] = ['n.name = ?'];
  const params: unknown[] = [q.name];
  if (q.builderid !== undefined) {
    where.push('n.builderid = ?');
    params.push(q.builderid);
  }
  if (q.before !== undefined) {
    where.push('r.id < ?');
    params.push(q.before);
  }
  if (q.branch !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM buildrequests br
      JOIN buildset_sourcestamps bss ON bss.buildsetid = br.buildsetid
      JOIN sourcestamps ss ON ss.id = bss.sourcestampid
      WHERE br.id = b.buildrequestid AND ss.branch = ?)`);
    params.push(q.branch);
  }
  const rows = await select<HistoryRow>(
    db,
    `SELECT r.id AS test_resultid, r.test_result_setid, n.name AS test_name, r.builderid, s.buildid, b.number AS build_number,
            s.stepid, b.workerid, r.value, s.category, s.value_unit, s.description, r.duration_ns, r.line, p.path AS test_code_path,
            b.started_at, b.complete_at, b.buildrequestid
     FROM test_names n
     JOIN test_results r ON r.test_nameid = n.id
     JOIN test_result_sets s ON s.id = r.test_result_setid
     JOIN builds b ON b.id = s.buildid
     LEFT JOIN test_code_paths p ON p.id = r.test_code_pathid
     WHERE ${where.join(' AND ')}
     ORDER BY r.id DESC LIMIT ${limit}`,
    params,
  );
  const stamps = await buildStamps(db, rows.map((r) => r.buildrequestid));
  return rows.map(({ buildrequestid, value_unit, ...r }) => {
    const ss = buildrequestid === null ? undefined : stamps.get(Number(buildrequestid));
    return {
      ...r,
      test_resultid: Number(r.test_resultid),
      test_result_setid: Number(r.test_result_setid),
      builderid: Number(r.builderid),
      buildid: Number(r.buildid),
      build_number: Number(r.build_number),
      stepid: Number(r.stepid),
      workerid: r.workerid === null ? null : Number(r.workerid),
      passed: passedOf(r.category, value_unit, r.value),
      branch: ss?.branch ?? null,
      revision: ss?.revision ?? null,
    };
  });
}

/** Whether a stored value is a pass, by its set's category; null when the category does not say. */
export function passedOf(category: string, valueUnit: string, value: string): boolean | null {
  if (category === 'pass_fail' && valueUnit === 'boolean') {
    const n = Number.parseInt(value, 10); // Buildbot: bool(int(value))
    return Number.isNaN(n) ? null : n !== 0;
  }
  if (category === 'fail_only') return false;
  if (category === 'pass_only') return true;
  return null;
}

/** What identifies "the same code" for a build: its source stamps' (codebase, revision). */
export interface BuildStamp {
  branch: string | null;
  revision: string | null;
  /** Every codebase's revision, `codebase:revision` joined by spaces; null when any is unknown. */
  revisionKey: string | null;
}

/** The source stamps of the builds of these build requests, by request id. */
export async function buildStamps(db: Database, brids: readonly (number | null)[]): Promise<Map<number, BuildStamp>> {
  const ids = [...new Set(brids.filter((b): b is number => b !== null).map(Number))];
  const out = new Map<number, BuildStamp>();
  for (const batch of batches(db, ids, 1)) {
    const rows = await select<{ brid: number; codebase: string; branch: string | null; revision: string | null }>(
      db,
      `SELECT br.id AS brid, ss.codebase, ss.branch, ss.revision
       FROM buildrequests br
       JOIN buildset_sourcestamps bss ON bss.buildsetid = br.buildsetid
       JOIN sourcestamps ss ON ss.id = bss.sourcestampid
       WHERE br.id IN (?) ORDER BY br.id, ss.codebase`,
      [batch],
    );
    const byBrid = new Map<number, typeof rows>();
    for (const r of rows) {
      const list = byBrid.get(Number(r.brid)) ?? [];
      list.push(r);
      byBrid.set(Number(r.brid), list);
    }
    for (const [brid, list] of byBrid) {
      const known = list.every((s) => s.revision);
      out.set(brid, {
        branch: list[0].branch || null,
        revision: list[0].revision || null,
        revisionKey: known ? list.map((s) => `${s.codebase}:${s.revision}`).join(' ') : null,
      });
    }
  }
  return out;
}
