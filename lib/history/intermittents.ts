/**
 * Intermittent (flaky) tests. A test of a builder is marked intermittent when, over its last
 * `window` runs on that builder:
 *
 * - it failed and passed on the same revision (a rebuild, a retry, a rerun in one build): the
 *   code did not change, the outcome did — reason 'same_revision'; or
 * - it ran at least `minRuns` times, its fail rate lies strictly between `minFailRate` and
 *   `maxFailRate`, and it recovered (a failure followed by a pass) at least `minRecoveries`
 *   times — reason 'pass_rate'. The recoveries rule keeps a plain regression (passes, then
 *   fails from some commit on: one change of state, no recovery) from being called flaky.
 *
 * Defaults: window 20, minRuns 5, 0 < fail rate < 0.9, minRecoveries 2. The mark is re-evaluated
 * whenever the test's builder records results that concern it, and removed once the test no
 * longer qualifies (its flaky runs have left the window): the table holds the current list.
 *
 * A run is one stored result of the test (test_results, pass_fail/boolean). A `fail_only` set
 * (the names a log listed as failed) also says something of the tests it does not list: each
 * later complete set of the same step (same builder and description) that does not name the
 * test counts as a pass of it.
 */
import type { Database } from '../db/connection.js';
import { epochSeconds, insert, remove, select, type Params } from '../db/query.js';
import { buildStamps, passedOf } from './testResults/store.js';

export interface IntermittentPolicy {
  /** How many of the test's latest runs are looked at (K). */
  window: number;
  /** Fewest runs for the pass-rate rule. */
  minRuns: number;
  /** The fail rate must be above this… */
  minFailRate: number;
  /** …and below this. */
  maxFailRate: number;
  /** Fewest failure→pass recoveries for the pass-rate rule. */
  minRecoveries: number;
}

export const DEFAULT_INTERMITTENT_POLICY: Readonly<IntermittentPolicy> = {
  window: 20,
  minRuns: 5,
  minFailRate: 0,
  maxFailRate: 0.9,
  minRecoveries: 2,
};

export interface RunOutcome {
  passed: boolean;
  /** What identifies the code that ran (lib/history/testResults/store.ts BuildStamp); null: unknown. */
  revisionKey: string | null;
  revision?: string | null;
  buildid?: number;
}

export type IntermittentReason = 'same_revision' | 'pass_rate';

export interface Verdict {
  intermittent: boolean;
  reason?: IntermittentReason;
  runs: number;
  failures: number;
  /** failures / runs (0 when no runs). */
  failRate: number;
  /** same_revision: the revision that both failed and passed. */
  revision?: string | null;
}

/** Classifies a test's runs, newest first (only the first `window` are looked at). */
export function classifyRuns(all: readonly RunOutcome[], policy: IntermittentPolicy = DEFAULT_INTERMITTENT_POLICY): Verdict {
  const runs = all.slice(0, policy.window);
  const failures = runs.filter((r) => !r.passed).length;
  const failRate = runs.length ? failures / runs.length : 0;
  const base = { runs: runs.length, failures, failRate };
  const seen = new Map<string, { passed: boolean; failed: boolean; revision: string | null }>();
  for (const r of runs) {
    if (r.revisionKey === null) continue;
    const s = seen.get(r.revisionKey) ?? { passed: false, failed: false, revision: r.revision ?? null };
    if (r.passed) s.passed = true;
    else s.failed = true;
    seen.set(r.revisionKey, s);
    if (s.passed && s.failed) return { intermittent: true, reason: 'same_revision', revision: s.revision, ...base };
  }
  let recoveries = 0;
  for (let i = runs.length - 1; i > 0; i--) if (!runs[i].passed && runs[i - 1].passed) recoveries++;
  if (runs.length >= policy.minRuns && failRate > policy.minFailRate && failRate < policy.maxFailRate && recoveries >= policy.minRecoveries) {
    return { intermittent: true, reason: 'pass_rate', ...base };
  }
  return { intermittent: false, ...base };
}

interface RunRow {
  resultid: number;
  setid: number;
  value: string;
  category: string;
  value_unit: string;
  description: string | null;
  buildid: number;
  buildrequestid: number | null;
}

function descriptionIs(description: string | null): { sql: string; params: Params } {
  return description === null ? { sql: 's.description IS NULL', params: [] } : { sql: 's.description = ?', params: [description] };
}

/** The test's latest runs on the builder, newest first, with what code each ran. */
export async function testRuns(db: Database, builderid: number, name: string, window: number): Promise<RunOutcome[]> {
  const limit = Math.max(1, Math.floor(window));
  const explicit = await select<RunRow>(
    db,
    `SELECT r.id AS resultid, s.id AS setid, r.value, s.category, s.value_unit, s.description, b.id AS buildid, b.buildrequestid
     FROM test_names n
     JOIN test_results r ON r.test_nameid = n.id
     JOIN test_result_sets s ON s.id = r.test_result_setid
     JOIN builds b ON b.id = s.buildid
     WHERE n.builderid = ? AND n.name = ?
     ORDER BY r.id DESC LIMIT ${limit}`,
    [builderid, name],
  );
  type Run = { setid: number; resultid: number; passed: boolean; buildid: number; brid: number | null };
  const runs: Run[] = [];
  for (const r of explicit) {
    const passed = passedOf(r.category, r.value_unit, r.value);
    if (passed !== null) runs.push({ setid: Number(r.setid), resultid: Number(r.resultid), passed, buildid: Number(r.buildid), brid: r.buildrequestid });
  }
  // fail_only sets of the same step that do not name the test: passes.
  const named = new Set(explicit.map((r) => Number(r.setid)));
  const failOnly = new Set(explicit.filter((r) => r.category === 'fail_only').map((r) => r.description));
  for (const description of failOnly) {
    const d = descriptionIs(description);
    const sets = await select<{ setid: number; buildid: number; buildrequestid: number | null }>(
      db,
      `SELECT s.id AS setid, b.id AS buildid, b.buildrequestid
       FROM test_result_sets s JOIN builds b ON b.id = s.buildid
       WHERE s.builderid = ? AND s.category = 'fail_only' AND s.complete = 1 AND ${d.sql}
       ORDER BY s.id DESC LIMIT ${limit}`,
      [builderid, ...d.params],
    );
    for (const s of sets) {
      if (!named.has(Number(s.setid))) runs.push({ setid: Number(s.setid), resultid: 0, passed: true, buildid: Number(s.buildid), brid: s.buildrequestid });
    }
  }
  runs.sort((a, b) => b.setid - a.setid || b.resultid - a.resultid);
  const newest = runs.slice(0, limit);
  const stamps = await buildStamps(db, newest.map((r) => r.brid));
  return newest.map((r) => {
    const ss = r.brid === null ? undefined : stamps.get(Number(r.brid));
    return { passed: r.passed, revisionKey: ss?.revisionKey ?? null, revision: ss?.revision ?? null, buildid: r.buildid };
  });
}

/** Evaluating more tests than this after one step means a mass failure: none of them is flaky news. */
const MAX_CANDIDATES = 500;

export interface EvaluatedTest extends Verdict {
  name: string;
  builderid: number;
}

/**
 * Re-evaluates the marks of the builder's tests that the new sets concern: the tests that failed
 * in the latest `window` sets of the same steps (the new ones included), and those already
 * marked. Returns the verdicts (intermittent or not) it stored.
 */
export async function evaluateIntermittents(
  db: Database,
  args: { builderid: number; setids: readonly number[]; buildid: number },
  policy: IntermittentPolicy = DEFAULT_INTERMITTENT_POLICY,
  now = epochSeconds(),
): Promise<EvaluatedTest[]> {
  if (args.setids.length === 0) return [];
  const limit = Math.max(1, Math.floor(policy.window));
  const descriptions = await select<{ description: string | null }>(
    db,
    'SELECT DISTINCT description FROM test_result_sets WHERE id IN (?)',
    [args.setids],
  );
  const recent = new Set<number>(args.setids);
  for (const { description } of descriptions) {
    const d = descriptionIs(description);
    const rows = await select<{ id: number }>(
      db,
      `SELECT s.id FROM test_result_sets s WHERE s.builderid = ? AND ${d.sql} ORDER BY s.id DESC LIMIT ${limit}`,
      [args.builderid, ...d.params],
    );
    for (const r of rows) recent.add(Number(r.id));
  }
  const failing = await select<{ name: string }>(
    db,
    `SELECT DISTINCT n.name FROM test_results r
     JOIN test_names n ON n.id = r.test_nameid
     JOIN test_result_sets s ON s.id = r.test_result_setid
     WHERE r.test_result_setid IN (?) AND (s.category = 'fail_only' OR (s.category = 'pass_fail' AND r.value = '0'))`,
    [[...recent]],
  );
  const marked = await select<{ name: string }>(
    db,
    'SELECT n.name FROM intermittent_tests i JOIN test_names n ON n.id = i.test_nameid WHERE i.builderid = ?',
    [args.builderid],
  );
  const names = [...new Set([...failing, ...marked].map((r) => r.name))].slice(0, MAX_CANDIDATES);
  const out: EvaluatedTest[] = [];
  for (const name of names) {
    const verdict = classifyRuns(await testRuns(db, args.builderid, name, limit), policy);
    await storeVerdict(db, args.builderid, name, verdict, args.buildid, now);
    out.push({ name, builderid: args.builderid, ...verdict });
  }
  return out;
}

/** Writes (or clears) the test's mark. Marks go by the name's lowest test_nameid on the builder. */
async function storeVerdict(db: Database, builderid: number, name: string, v: Verdict, buildid: number, now: number): Promise<void> {
  const ids = await select<{ id: number }>(db, 'SELECT id FROM test_names WHERE builderid = ? AND name = ? ORDER BY id', [builderid, name]);
  if (ids.length === 0) return;
  const nameid = Number(ids[0].id);
  if (!v.intermittent) {
    await remove(db, 'DELETE FROM intermittent_tests WHERE test_nameid = ?', [nameid]);
    return;
  }
  const columns = '(builderid, test_nameid, reason, runs, failures, fail_rate, revision, first_marked_at, updated_at, last_buildid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const set = ['reason', 'runs', 'failures', 'fail_rate', 'revision', 'updated_at', 'last_buildid'];
  // One statement either way, so two masters evaluating the same test at once both land whole.
  const sql =
    db.caps.upsert === 'onConflict'
      ? `INSERT INTO intermittent_tests ${columns} ON CONFLICT (test_nameid) DO UPDATE SET ${set.map((c) => `${c} = excluded.${c}`).join(', ')}`
      : `INSERT INTO intermittent_tests ${columns} ON DUPLICATE KEY UPDATE ${set.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
  await insert(db, sql, [builderid, nameid, v.reason!, v.runs, v.failures, v.failRate, v.revision ?? null, now, now, buildid]);
}

/** An intermittent mark, as the REST API shows it. */
export interface IntermittentTest {
  test_name: string;
  test_nameid: number;
  builderid: number;
  reason: IntermittentReason;
  runs: number;
  failures: number;
  fail_rate: number;
  revision: string | null;
  first_marked_at: number;
  updated_at: number;
  last_buildid: number | null;
}

/** The current intermittent tests, most recently confirmed first (optionally of one builder or one test). */
export async function getIntermittentTests(db: Database, q: { builderid?: number; name?: string; limit?: number } = {}): Promise<IntermittentTest[]> {
  const limit = Math.max(1, Math.min(1000, Math.floor(q.limit ?? 100)));
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.builderid !== undefined) {
    where.push('i.builderid = ?');
    params.push(q.builderid);
  }
  if (q.name !== undefined) {
    where.push('n.name = ?');
    params.push(q.name);
  }
  const rows = await select<IntermittentTest>(
    db,
    `SELECT n.name AS test_name, i.test_nameid, i.builderid, i.reason, i.runs, i.failures, i.fail_rate, i.revision,
            i.first_marked_at, i.updated_at, i.last_buildid
     FROM intermittent_tests i JOIN test_names n ON n.id = i.test_nameid
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY i.updated_at DESC, i.id DESC LIMIT ${limit}`,
    params,
  );
  return rows.map((r) => ({
    ...r,
    test_nameid: Number(r.test_nameid),
    builderid: Number(r.builderid),
    runs: Number(r.runs),
    failures: Number(r.failures),
    fail_rate: Number(r.fail_rate),
    first_marked_at: Number(r.first_marked_at),
    updated_at: Number(r.updated_at),
    last_buildid: r.last_buildid === null ? null : Number(r.last_buildid),
  }));
}
