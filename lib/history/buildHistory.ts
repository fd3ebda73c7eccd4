import type { Database } from '../db/connection.js';
import { batches, epochSeconds, insert, insertIgnoringDuplicates, select, selectOne, valuesList } from '../db/query.js';
import { checkSeries, type RegressionAlert } from './alerts.js';
import { REGRESSION_DEFAULTS, type RegressionOptions } from './regression.js';

/**
 * What a finished build leaves for trends: one build_durations row and one step_durations row per
 * finished step, with its builder, worker and branch copied in (so trend queries read one indexed
 * table), then the regression check of the builder's series. Called when a build finishes; safe
 * to call again (rows are keyed by build and step id) and for old builds (backfill).
 */

/** Buildbot's SUCCESS and WARNINGS: only these builds' durations form the regression series. */
const GOOD_RESULTS = [0, 1];
const MAX_BRANCH = 255;

/** The branch and revision a build built (its first sourcestamp), for FailureContext too. */
export async function buildSource(db: Database, buildid: number): Promise<{ branch: string | null; revision: string | null } | undefined> {
  const row = await selectOne<{ branch: string | null; revision: string | null }>(
    db,
    `SELECT ss.branch, ss.revision FROM builds b
       JOIN buildrequests br ON br.id = b.buildrequestid
       JOIN buildset_sourcestamps bss ON bss.buildsetid = br.buildsetid
       JOIN sourcestamps ss ON ss.id = bss.sourcestampid
      WHERE b.id = ? ORDER BY ss.id LIMIT 1`,
    [buildid],
  );
  return row ? { branch: row.branch, revision: row.revision } : undefined;
}

export interface FinishedBuildResult {
  /** False when the build is unknown or not finished, or was recorded before. */
  recorded: boolean;
  /** Alerts this call created. */
  alerts: RegressionAlert[];
}

export async function recordFinishedBuild(
  db: Database,
  buildid: number,
  opts: { regression?: Partial<RegressionOptions>; now?: number } = {},
): Promise<FinishedBuildResult> {
  const build = await selectOne<{ builderid: number; workerid: number | null; started_at: number; complete_at: number | null; results: number | null }>(
    db,
    'SELECT builderid, workerid, started_at, complete_at, results FROM builds WHERE id = ?',
    [buildid],
  );
  if (!build || build.complete_at === null) return { recorded: false, alerts: [] };
  const branchRaw = (await buildSource(db, buildid))?.branch ?? null;
  const branch = branchRaw === null ? null : Array.from(branchRaw).slice(0, MAX_BRANCH).join('');
  const builderid = Number(build.builderid);
  const workerid = build.workerid === null ? null : Number(build.workerid);
  const steps = await select<{ id: number; name: string; started_at: number | null; complete_at: number | null; results: number | null }>(
    db,
    'SELECT id, name, started_at, complete_at, results FROM steps WHERE buildid = ? ORDER BY number',
    [buildid],
  );
  const finished = steps.filter((s) => s.started_at !== null && s.complete_at !== null);
  const inserted = await db.transaction(async (t) => {
    const { affectedRows } = await insertIgnoringDuplicates(
      db,
      'build_durations (buildid, builderid, workerid, branch, started_at, duration, results) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [buildid, builderid, workerid, branch, Number(build.started_at), Math.max(0, Number(build.complete_at) - Number(build.started_at)), build.results],
      t,
    );
    if (affectedRows === 0) return false;
    const rows = finished.map((s) => [Number(s.id), buildid, builderid, workerid, branch, s.name, Number(s.started_at), Math.max(0, Number(s.complete_at) - Number(s.started_at)), s.results]);
    for (const part of batches(db, rows, 9)) {
      await insert(db, `INSERT INTO step_durations (stepid, buildid, builderid, workerid, branch, name, started_at, duration, results) VALUES ${valuesList(part.length, 9)}`, part.flat(), t);
    }
    return true;
  }, { driverOnly: true });
  if (!inserted) return { recorded: false, alerts: [] };
  const alerts: RegressionAlert[] = [];
  if (build.results !== null && GOOD_RESULTS.includes(Number(build.results))) {
    const o = { ...REGRESSION_DEFAULTS, ...opts.regression };
    const n = o.backWindow + o.forwardWindow + 1;
    const now = opts.now ?? epochSeconds();
    const series = await select<{ buildid: number; duration: number }>(
      db,
      `SELECT buildid, duration FROM build_durations WHERE builderid = ? AND results IN (?) ORDER BY started_at DESC, buildid DESC LIMIT ?`,
      [builderid, GOOD_RESULTS, n],
    );
    const a = await checkSeries(db, { builderid, stepName: null }, toSeries(series), o, now);
    if (a) alerts.push(a);
    for (const s of finished) {
      if (s.results === null || !GOOD_RESULTS.includes(Number(s.results))) continue;
      const stepSeries = await select<{ buildid: number; duration: number }>(
        db,
        `SELECT buildid, duration FROM step_durations WHERE builderid = ? AND name = ? AND results IN (?) ORDER BY started_at DESC, buildid DESC LIMIT ?`,
        [builderid, s.name, GOOD_RESULTS, n],
      );
      const sa = await checkSeries(db, { builderid, stepName: s.name }, toSeries(stepSeries), o, now);
      if (sa) alerts.push(sa);
    }
  }
  return { recorded: true, alerts };
}

function toSeries(rows: { buildid: number; duration: number }[]): { buildid: number; duration: number }[] {
  return rows.map((r) => ({ buildid: Number(r.buildid), duration: Number(r.duration) })).reverse();
}

/**
 * Records the finished builds that have no build_durations row yet (those finished before the
 * history existed, or while no master recorded them), oldest first, up to `limit`. Regression
 * checks run as they would have. Returns how many were recorded.
 */
export async function backfillFinishedBuilds(db: Database, opts: { limit?: number; regression?: Partial<RegressionOptions> } = {}): Promise<number> {
  const rows = await select<{ id: number }>(
    db,
    `SELECT b.id FROM builds b LEFT JOIN build_durations d ON d.buildid = b.id
      WHERE b.complete_at IS NOT NULL AND d.buildid IS NULL ORDER BY b.id LIMIT ?`,
    [opts.limit ?? 1000],
  );
  let n = 0;
  for (const r of rows) if ((await recordFinishedBuild(db, Number(r.id), { regression: opts.regression })).recorded) n++;
  return n;
}
