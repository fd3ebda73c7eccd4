import type { Database } from './connection.js';
import { collectHistory, HISTORY_TABLES } from './janitorHistory.js';
import type { JanitorCursors } from './janitorLease.js';
import { inRolledBackTransaction, JanitorRun, type BatchSizer, type RunOptions, type Stmt } from './janitorRun.js';
import { batches, epochSeconds, select, selectOne } from './query.js';
import { WalCheckpointer } from './walCheckpointer.js';

/**
 * Garbage collection: deletes what the horizons say is old, in small batches (janitorRun.ts),
 * children before parents, so that a run interrupted anywhere leaves no orphan:
 *
 *   logs horizon         logchunks of old steps; the logs rows stay, type 'd' (Buildbot's)
 *   build data horizon   build_data of old builds
 *   test result horizon  test_results, test_result_sets of old builds
 *   build horizon        logchunks → logs → test results → steps → build_properties, build_data →
 *                        builds → buildrequest_claims, buildrequests (complete, no build left) →
 *                        buildset_properties, buildset_sourcestamps, buildsets (complete, no request
 *                        left) → sourcestamps → patches nobody references
 *   change horizon       scheduler_changes, change_files, change_properties, change_users,
 *                        push_changes → pushes left empty → changes → sourcestamps → patches
 *   signature horizon    the history tables of migration 004, when they exist (janitorHistory.ts)
 *   orphans              child rows whose parent id is below every remaining parent id; source
 *                        stamps and patches nobody references (past the grace)
 *
 * Old means: completed (builds, requests, buildsets) or started (steps) before now − horizon.
 * Running builds, incomplete requests and buildsets are never touched. Rows are found by walking
 * the primary key upwards from the oldest, which is time order: the walk stops at the first row
 * started after the cutoff.
 *
 * Sourcestamps and patches nobody references are deleted only when older than `orphanGraceSeconds`
 * (default 1 h): a buildset's stamps are written before the buildset itself (buildsets.ts), and
 * a master remembers the ids of the stamps it used (process/buildsetCache.ts).
 */

export interface Horizons {
  /** Seconds; unset: keep forever. */
  buildHorizon?: number;
  logHorizon?: number;
  buildDataHorizon?: number;
  testResultHorizon?: number;
  /** Buildbot's changeHorizon: keep this many newest changes (a count). */
  changeHorizon?: number;
  /** Seconds: delete changes whose when_timestamp is older. */
  changeAgeHorizon?: number;
  /** Seconds: the history tables (failure signatures and occurrences, durations, alerts). */
  signatureHorizon?: number;
}

export interface CollectOptions extends RunOptions {
  horizons: Horizons;
  /** Epoch seconds (default now). */
  now?: number;
  orphanGraceSeconds?: number;
  /** Where the kept-row horizons got to last time (janitorLease.readCursors); updated in place. */
  cursors?: JanitorCursors;
  /** Count the units of the big phases first, for a progress bar (one scan each). */
  estimate?: boolean;
}

export interface CollectResult {
  /** Rows deleted per table (a dry run: that would be). */
  rows: Record<string, number>;
  totalRows: number;
  batches: number;
  longestBatchMs: number;
  durationMs: number;
  cursors: JanitorCursors;
  /** Stopped early by the signal. */
  aborted: boolean;
}

export const DEFAULT_ORPHAN_GRACE_SECONDS = 3_600;

interface Ctx {
  run: JanitorRun;
  db: Database;
  now: number;
  graceCutoff: number;
  tables: Set<string>;
}

export async function collectGarbage(db: Database, opts: CollectOptions): Promise<CollectResult> {
  const started = performance.now();
  const run = new JanitorRun(db, opts);
  const now = opts.now ?? epochSeconds();
  const tables = new Set((await select<{ name: string }>(db, db.caps.listTablesQuery)).map((r) => String(r.name)));
  const ctx: Ctx = { run, db, now, graceCutoff: now - (opts.orphanGraceSeconds ?? DEFAULT_ORPHAN_GRACE_SECONDS), tables };
  const h = opts.horizons;
  const cursors: JanitorCursors = { ...(opts.cursors ?? {}) };
  const estimate = opts.estimate ?? false;
  const phases = () => runPhases(ctx, h, cursors, estimate);
  if (opts.dryRun) await inRolledBackTransaction(run, phases);
  else {
    run.checkpointer = await WalCheckpointer.open(db);
    try {
      await phases();
    } finally {
      await run.checkpointer?.close();
    }
  }

  // Nothing was deleted in a dry run: the cursors stay.
  if (opts.cursors && !opts.dryRun) Object.assign(opts.cursors, cursors);
  return {
    rows: run.rows,
    totalRows: run.totalRows,
    batches: run.batchCount,
    longestBatchMs: run.longestBatchMs,
    durationMs: performance.now() - started,
    cursors: opts.dryRun ? { ...(opts.cursors ?? {}) } : cursors,
    aborted: run.aborted,
  };
}

async function runPhases(ctx: Ctx, h: Horizons, cursors: JanitorCursors, estimate: boolean): Promise<void> {
  const { run, now, tables } = ctx;
  if (h.logHorizon !== undefined) cursors.logs = await collectLogs(ctx, now - h.logHorizon, cursors.logs ?? 0, estimate);
  if (h.buildDataHorizon !== undefined) {
    cursors.buildData = await perOldBuild(ctx, 'build data', now - h.buildDataHorizon, cursors.buildData ?? 0, estimate, async (ids) => [
      { table: 'build_data', sql: 'DELETE FROM build_data WHERE buildid IN (?)', params: [ids] },
    ]);
  }
  if (h.testResultHorizon !== undefined) {
    cursors.testResults = await perOldBuild(ctx, 'test results', now - h.testResultHorizon, cursors.testResults ?? 0, estimate, async (ids) => testResultStatements(ctx, ids));
  }
  if (h.buildHorizon !== undefined) {
    const cutoff = now - h.buildHorizon;
    await perOldBuild(ctx, 'builds', cutoff, 0, estimate, (ids) => buildStatements(ctx, ids));
    await collectLeftoverRequests(ctx, cutoff);
    await collectLeftoverBuildsets(ctx, cutoff);
  }
  if (h.changeHorizon !== undefined || h.changeAgeHorizon !== undefined) await collectChanges(ctx, h);
  if (h.signatureHorizon !== undefined && HISTORY_TABLES.some((t) => tables.has(t))) await collectHistory(run, tables, now - h.signatureHorizon);
  await collectOrphans(ctx);
  await collectUnreferencedStamps(ctx);
}

interface TimedRow {
  id: number;
  started: number | null;
  /** Null: still running. */
  completed: number | null;
}

/**
 * Walks `sql` (rows by ascending id from a cursor) in batches and hands the ids of rows completed
 * before `cutoff` to `act`. Stops at the first row started at or after the cutoff. Returns the
 * highest id below which every row was handled (a running row holds the cursor back).
 */
async function walkOld(
  ctx: Ctx,
  sizer: BatchSizer,
  sql: string,
  from: number,
  cutoff: number,
  act: (ids: number[]) => Promise<unknown>,
): Promise<number> {
  let after = from;
  let cursor = from;
  let held = false;
  while (!ctx.run.aborted) {
    const limit = sizer.size;
    const rows = await select<TimedRow>(ctx.db, sql, [after, limit]);
    const ids: number[] = [];
    let reachedNew = false;
    for (const r of rows) {
      if (r.started !== null && r.started >= cutoff) {
        reachedNew = true;
        break;
      }
      after = r.id;
      if (r.completed !== null && r.completed < cutoff) ids.push(r.id);
      else held = true;
      if (!held) cursor = r.id;
    }
    if (ids.length > 0) await act(ids);
    else ctx.run.skipped(rows.length);
    if (reachedNew || rows.length < limit) break;
  }
  return cursor;
}

const BUILDS_SCAN = 'SELECT id, started_at AS started, complete_at AS completed FROM builds WHERE id > ? ORDER BY id LIMIT ?';

async function countOldBuilds(db: Database, cutoff: number, from: number): Promise<number> {
  const row = await selectOne<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM builds WHERE id > ? AND complete_at < ?', [from, cutoff]);
  return Number(row?.n ?? 0);
}

/** A phase over the builds completed before `cutoff`, from the cursor; returns the new cursor. */
async function perOldBuild(
  ctx: Ctx,
  phase: string,
  cutoff: number,
  from: number,
  estimate: boolean,
  statements: (ids: number[]) => Promise<Stmt[]>,
): Promise<number> {
  ctx.run.startPhase(phase, estimate ? await countOldBuilds(ctx.db, cutoff, from) : undefined);
  const sizer = ctx.run.sizer();
  return walkOld(ctx, sizer, BUILDS_SCAN, from, cutoff, async (ids) => ctx.run.batch(sizer, ids.length, await statements(ids)));
}

/** Logs horizon: chunks of the logs of steps started before the cutoff go; the logs stay, type 'd'. */
async function collectLogs(ctx: Ctx, cutoff: number, from: number, estimate: boolean): Promise<number> {
  const total = estimate ? Number((await selectOne<{ n: number }>(ctx.db, 'SELECT COUNT(*) AS n FROM steps WHERE id > ? AND started_at < ?', [from, cutoff]))?.n ?? 0) : undefined;
  ctx.run.startPhase('logs', total);
  const sizer = ctx.run.sizer();
  // A step that never started has no logs, and one still running keeps its chunks.
  const scan = 'SELECT id, started_at AS started, complete_at AS completed FROM steps WHERE id > ? ORDER BY id LIMIT ?';
  return walkOld(ctx, sizer, scan, from, cutoff, async (stepids) => {
    const logids = await lookup(ctx.db, "SELECT id FROM logs WHERE stepid IN (?) AND type != 'd'", stepids);
    await ctx.run.batch(sizer, stepids.length, [
      { table: 'logchunks', sql: 'DELETE FROM logchunks WHERE logid IN (?)', params: [logids] },
      { sql: "UPDATE logs SET type = 'd' WHERE stepid IN (?) AND type != 'd'", params: [stepids] },
    ]);
  });
}

async function testResultStatements(ctx: Ctx, buildids: readonly number[]): Promise<Stmt[]> {
  const setids = await lookup(ctx.db, 'SELECT id FROM test_result_sets WHERE buildid IN (?)', buildids);
  return [
    { table: 'test_results', sql: 'DELETE FROM test_results WHERE test_result_setid IN (?)', params: [setids] },
    { table: 'test_result_sets', sql: 'DELETE FROM test_result_sets WHERE buildid IN (?)', params: [buildids] },
  ];
}

/** The distinct non-null values of `sql`'s `id` column for `ids` (read outside the batch). */
async function lookup(db: Database, sql: string, ids: readonly number[]): Promise<number[]> {
  const out = new Set<number>();
  for (const chunk of batches(db, ids)) for (const r of await select<{ id: number | null }>(db, sql, [chunk])) if (r.id !== null) out.add(Number(r.id));
  return [...out];
}

/*
 * Each batch is a list of statements that depend on no result of another, so that sqlite can run
 * them as one (janitorRun.ts). The ids they take are read before the batch: a finished build's
 * request, a request's buildset, a buildset's stamps and a stamp's patch never change, nor do a
 * finished build's steps, logs and test result sets. Whether a request, buildset, stamp or patch is
 * still used is decided inside the batch, by its DELETE's own condition.
 *
 * Every DELETE selects its rows by a list of ids on an index, never by `col IN (SELECT …)`: MariaDB
 * (10.x) runs that in a DELETE as a dependent subquery over the whole table, and under REPEATABLE
 * READ locks every row it scans, so a claim (an INSERT into buildrequest_claims) would wait for the
 * batch.
 */

/** Builds and everything below them; then their requests, buildsets and stamps if now unused. */
async function buildStatements(ctx: Ctx, buildids: number[]): Promise<Stmt[]> {
  const brids = await lookup(ctx.db, 'SELECT DISTINCT buildrequestid AS id FROM builds WHERE id IN (?)', buildids);
  const stepids = await lookup(ctx.db, 'SELECT id FROM steps WHERE buildid IN (?)', buildids);
  const logids = await lookup(ctx.db, 'SELECT id FROM logs WHERE stepid IN (?)', stepids);
  return [
    { table: 'logchunks', sql: 'DELETE FROM logchunks WHERE logid IN (?)', params: [logids] },
    { table: 'logs', sql: 'DELETE FROM logs WHERE stepid IN (?)', params: [stepids] },
    ...(await testResultStatements(ctx, buildids)),
    { table: 'steps', sql: 'DELETE FROM steps WHERE buildid IN (?)', params: [buildids] },
    { table: 'build_properties', sql: 'DELETE FROM build_properties WHERE buildid IN (?)', params: [buildids] },
    { table: 'build_data', sql: 'DELETE FROM build_data WHERE buildid IN (?)', params: [buildids] },
    // ON DELETE SET NULL, by hand: sqlite's foreign keys are off (Buildbot's too).
    { sql: 'UPDATE buildsets SET parent_buildid = NULL WHERE parent_buildid IN (?)', params: [buildids] },
    { table: 'builds', sql: 'DELETE FROM builds WHERE id IN (?)', params: [buildids] },
    ...(await requestStatements(ctx, brids)),
  ];
}

/**
 * The complete requests among `brids` that no build refers to any more, with their claims; then
 * their buildsets. A complete request never gets a new build (a rebuild is a new buildset), so
 * "complete and unreferenced" stays true once true.
 */
async function requestStatements(ctx: Ctx, brids: readonly number[]): Promise<Stmt[]> {
  const bsids = await lookup(ctx.db, 'SELECT DISTINCT buildsetid AS id FROM buildrequests WHERE id IN (?)', brids);
  // NOT EXISTS, correlated, rather than NOT IN (…): it stops at the first reference, where a NOT IN
  // list could hold every row that refers to a much-shared parent (one stamp in a million buildsets).
  const cond = 'buildrequests.complete = 1 AND NOT EXISTS (SELECT 1 FROM builds WHERE builds.buildrequestid = buildrequests.id)';
  return [
    {
      table: 'buildrequest_claims',
      sql: `DELETE FROM buildrequest_claims WHERE brid IN (?) AND EXISTS (SELECT 1 FROM buildrequests WHERE buildrequests.id = buildrequest_claims.brid AND ${cond})`,
      params: [brids],
    },
    { table: 'buildrequests', sql: `DELETE FROM buildrequests WHERE id IN (?) AND ${cond}`, params: [brids] },
    ...(await buildsetStatements(ctx, bsids)),
  ];
}

/** The complete buildsets among `bsids` without requests, their properties and stamp links; then the stamps. */
async function buildsetStatements(ctx: Ctx, bsids: readonly number[]): Promise<Stmt[]> {
  const ssids = await lookup(ctx.db, 'SELECT DISTINCT sourcestampid AS id FROM buildset_sourcestamps WHERE buildsetid IN (?)', bsids);
  const cond = 'buildsets.complete = 1 AND NOT EXISTS (SELECT 1 FROM buildrequests WHERE buildrequests.buildsetid = buildsets.id)';
  const unused = (table: string) => `EXISTS (SELECT 1 FROM buildsets WHERE buildsets.id = ${table}.buildsetid AND ${cond})`;
  return [
    { table: 'buildset_properties', sql: `DELETE FROM buildset_properties WHERE buildsetid IN (?) AND ${unused('buildset_properties')}`, params: [bsids] },
    { table: 'buildset_sourcestamps', sql: `DELETE FROM buildset_sourcestamps WHERE buildsetid IN (?) AND ${unused('buildset_sourcestamps')}`, params: [bsids] },
    { table: 'buildsets', sql: `DELETE FROM buildsets WHERE id IN (?) AND ${cond}`, params: [bsids] },
    ...(await stampStatements(ctx, ssids)),
  ];
}

/** The stamps among `ssids` older than the grace that no buildset or change uses; then their patches. */
async function stampStatements(ctx: Ctx, ssids: readonly number[]): Promise<Stmt[]> {
  const patchids = await lookup(ctx.db, 'SELECT DISTINCT patchid AS id FROM sourcestamps WHERE id IN (?)', ssids);
  return [
    {
      table: 'sourcestamps',
      sql: `DELETE FROM sourcestamps WHERE id IN (?) AND created_at < ?
              AND NOT EXISTS (SELECT 1 FROM buildset_sourcestamps WHERE buildset_sourcestamps.sourcestampid = sourcestamps.id)
              AND NOT EXISTS (SELECT 1 FROM changes WHERE changes.sourcestampid = sourcestamps.id)`,
      params: [ssids, ctx.graceCutoff],
    },
    { table: 'patches', sql: 'DELETE FROM patches WHERE id IN (?) AND NOT EXISTS (SELECT 1 FROM sourcestamps WHERE sourcestamps.patchid = patches.id)', params: [patchids] },
  ];
}

/** Requests completed before the cutoff that never got a build (skipped, cancelled). */
async function collectLeftoverRequests(ctx: Ctx, cutoff: number): Promise<void> {
  ctx.run.startPhase('requests');
  const sizer = ctx.run.sizer();
  const scan = 'SELECT id, submitted_at AS started, CASE WHEN complete = 1 THEN complete_at ELSE NULL END AS completed FROM buildrequests WHERE id > ? ORDER BY id LIMIT ?';
  await walkOld(ctx, sizer, scan, 0, cutoff, async (brids) => ctx.run.batch(sizer, brids.length, await requestStatements(ctx, brids)));
}

/** Buildsets completed before the cutoff without requests (e.g. none of their builders existed). */
async function collectLeftoverBuildsets(ctx: Ctx, cutoff: number): Promise<void> {
  ctx.run.startPhase('buildsets');
  const sizer = ctx.run.sizer();
  const scan = 'SELECT id, submitted_at AS started, CASE WHEN complete = 1 THEN complete_at ELSE NULL END AS completed FROM buildsets WHERE id > ? ORDER BY id LIMIT ?';
  await walkOld(ctx, sizer, scan, 0, cutoff, async (bsids) => ctx.run.batch(sizer, bsids.length, await buildsetStatements(ctx, bsids)));
}

/**
 * Changes beyond the newest `changeHorizon` (Buildbot's pruneChanges) and those whose
 * when_timestamp is older than `changeAgeHorizon`, with their rows in other tables.
 */
async function collectChanges(ctx: Ctx, h: Horizons): Promise<void> {
  ctx.run.startPhase('changes');
  const sizer = ctx.run.sizer();
  if (h.changeHorizon !== undefined) {
    // Every change at or below the (N+1)th newest id goes.
    const edge = await selectOne<{ changeid: number }>(ctx.db, 'SELECT changeid FROM changes ORDER BY changeid DESC LIMIT 1 OFFSET ?', [h.changeHorizon]);
    let after = 0;
    while (edge && !ctx.run.aborted) {
      const ids = (await select<{ changeid: number }>(ctx.db, 'SELECT changeid FROM changes WHERE changeid > ? AND changeid <= ? ORDER BY changeid LIMIT ?', [after, edge.changeid, sizer.size])).map((r) => r.changeid);
      if (ids.length === 0) break;
      after = ids[ids.length - 1]!;
      await ctx.run.batch(sizer, ids.length, await changeStatements(ctx, ids));
    }
  }
  if (h.changeAgeHorizon !== undefined) {
    const cutoff = ctx.now - h.changeAgeHorizon;
    // Keyset on (when_timestamp, changeid): the order of the when_timestamp index.
    let at = -1;
    let after = 0;
    while (!ctx.run.aborted) {
      const rows = await select<{ changeid: number; when_timestamp: number }>(
        ctx.db,
        `SELECT changeid, when_timestamp FROM changes WHERE when_timestamp < ? AND (when_timestamp > ? OR (when_timestamp = ? AND changeid > ?))
          ORDER BY when_timestamp, changeid LIMIT ?`,
        [cutoff, at, at, after, sizer.size],
      );
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      at = last.when_timestamp;
      after = last.changeid;
      const ids = rows.map((r) => r.changeid);
      await ctx.run.batch(sizer, ids.length, await changeStatements(ctx, ids));
    }
  }
}

async function changeStatements(ctx: Ctx, changeids: number[]): Promise<Stmt[]> {
  const out: Stmt[] = ['scheduler_changes', 'change_files', 'change_properties', 'change_users'].map((table) => ({
    table,
    sql: `DELETE FROM ${table} WHERE changeid IN (?)`,
    params: [changeids],
  }));
  if (ctx.tables.has('push_changes')) {
    const pushids = await lookup(ctx.db, 'SELECT DISTINCT pushid AS id FROM push_changes WHERE changeid IN (?)', changeids);
    out.push(
      { table: 'push_changes', sql: 'DELETE FROM push_changes WHERE changeid IN (?)', params: [changeids] },
      { table: 'pushes', sql: 'DELETE FROM pushes WHERE id IN (?) AND NOT EXISTS (SELECT 1 FROM push_changes WHERE push_changes.pushid = pushes.id)', params: [pushids] },
    );
  }
  const ssids = await lookup(ctx.db, 'SELECT DISTINCT sourcestampid AS id FROM changes WHERE changeid IN (?)', changeids);
  out.push(
    { sql: 'UPDATE changes SET parent_changeids = NULL WHERE parent_changeids IN (?)', params: [changeids] },
    { table: 'changes', sql: 'DELETE FROM changes WHERE changeid IN (?)', params: [changeids] },
    ...(await stampStatements(ctx, ssids)),
  );
  return out;
}

/**
 * (child table, its parent-id column, parent table, parent key). Ids only grow, so a child row
 * pointing below the lowest parent id left points at a parent that is gone: an orphan (left by
 * an older janitor, Buildbot, or a crash on sqlite, where foreign keys are off).
 */
const ORPHAN_LINKS: readonly (readonly [string, string, string, string])[] = [
  // Parents first: a step deleted here as an orphan makes its logs orphans for the next line.
  ['steps', 'buildid', 'builds', 'id'],
  ['build_properties', 'buildid', 'builds', 'id'],
  ['build_data', 'buildid', 'builds', 'id'],
  ['test_result_sets', 'buildid', 'builds', 'id'],
  ['test_results', 'test_result_setid', 'test_result_sets', 'id'],
  ['logs', 'stepid', 'steps', 'id'],
  ['logchunks', 'logid', 'logs', 'id'],
  ['buildrequest_claims', 'brid', 'buildrequests', 'id'],
  ['buildset_properties', 'buildsetid', 'buildsets', 'id'],
  ['buildset_sourcestamps', 'buildsetid', 'buildsets', 'id'],
  ['change_files', 'changeid', 'changes', 'changeid'],
  ['change_properties', 'changeid', 'changes', 'changeid'],
  ['change_users', 'changeid', 'changes', 'changeid'],
  ['scheduler_changes', 'changeid', 'changes', 'changeid'],
  ['push_changes', 'changeid', 'changes', 'changeid'],
];

async function collectOrphans(ctx: Ctx): Promise<void> {
  ctx.run.startPhase('orphans');
  for (const [child, column, parent, key] of ORPHAN_LINKS) {
    if (!ctx.tables.has(child) || !ctx.tables.has(parent) || ctx.run.aborted) continue;
    // An empty parent table says nothing about which ids are gone: skip.
    const low = await selectOne<{ low: number | null }>(ctx.db, `SELECT MIN(${key}) AS low FROM ${parent}`);
    if (low?.low === null || low?.low === undefined) continue;
    const sizer = ctx.run.sizer();
    let after = -1;
    while (!ctx.run.aborted) {
      const parents = (await select<{ id: number }>(
        ctx.db,
        `SELECT DISTINCT ${column} AS id FROM ${child} WHERE ${column} > ? AND ${column} < ? ORDER BY ${column} LIMIT ?`,
        [after, low.low, sizer.size],
      )).map((r) => Number(r.id));
      if (parents.length === 0) break;
      after = parents[parents.length - 1]!;
      await ctx.run.batch(sizer, parents.length, [{ table: child, sql: `DELETE FROM ${child} WHERE ${column} IN (?)`, params: [parents] }]);
    }
  }
}

/**
 * Source stamps older than the grace that nothing references (never used, or left by a crash or an
 * older janitor), then patches nobody references that are older than a stamp past the grace (a
 * patch is written just before its stamp, and patches have no time of their own).
 */
async function collectUnreferencedStamps(ctx: Ctx): Promise<void> {
  ctx.run.startPhase('unreferenced stamps');
  const sizer = ctx.run.sizer();
  // Read first: the stamps deleted next may be the ones that date the patches.
  const edge = await selectOne<{ id: number | null }>(ctx.db, 'SELECT MAX(patchid) AS id FROM sourcestamps WHERE created_at < ?', [ctx.graceCutoff]);
  let after = 0;
  while (!ctx.run.aborted) {
    const ids = (await select<{ id: number }>(
      ctx.db,
      `SELECT id FROM sourcestamps WHERE id > ? AND created_at < ?
          AND NOT EXISTS (SELECT 1 FROM buildset_sourcestamps WHERE buildset_sourcestamps.sourcestampid = sourcestamps.id)
          AND NOT EXISTS (SELECT 1 FROM changes WHERE changes.sourcestampid = sourcestamps.id)
        ORDER BY id LIMIT ?`,
      [after, ctx.graceCutoff, sizer.size],
    )).map((r) => Number(r.id));
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    await ctx.run.batch(sizer, ids.length, await stampStatements(ctx, ids));
  }
  if (edge?.id === null || edge?.id === undefined) return;
  after = 0;
  while (!ctx.run.aborted) {
    const ids = (await select<{ id: number }>(
      ctx.db,
      'SELECT id FROM patches WHERE id > ? AND id < ? AND NOT EXISTS (SELECT 1 FROM sourcestamps WHERE sourcestamps.patchid = patches.id) ORDER BY id LIMIT ?',
      [after, Number(edge.id), sizer.size],
    )).map((r) => Number(r.id));
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    await ctx.run.batch(sizer, ids.length, [
      { table: 'patches', sql: 'DELETE FROM patches WHERE id IN (?) AND NOT EXISTS (SELECT 1 FROM sourcestamps WHERE sourcestamps.patchid = patches.id)', params: [ids] },
    ]);
  }
}

/**
 * The database's size in bytes: sqlite's pages (in use or free; the file's size once checkpointed);
 * MySQL's data and indexes, from InnoDB's statistics, which `analyze` refreshes first (ANALYZE TABLE).
 */
export async function databaseSize(db: Database, opts: { analyze?: boolean } = {}): Promise<number> {
  if (db.caps.supportsVacuum) {
    // The pragma functions, not `PRAGMA x`: some pragmas are evaluated when a statement is prepared,
    // and query.ts keeps statements prepared.
    const pages = await selectOne<{ page_count: number }>(db, 'SELECT page_count FROM pragma_page_count');
    const size = await selectOne<{ page_size: number }>(db, 'SELECT page_size FROM pragma_page_size');
    return Number(pages?.page_count ?? 0) * Number(size?.page_size ?? 0);
  }
  if (opts.analyze) {
    const tables = await select<{ name: string }>(db, db.caps.listTablesQuery);
    if (tables.length > 0) await select(db, `ANALYZE TABLE ${tables.map((t) => t.name).join(', ')}`);
  }
  const row = await selectOne<{ n: number | string | null }>(
    db,
    'SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS n FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  return Number(row?.n ?? 0);
}
