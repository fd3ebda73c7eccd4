import type { Database } from '../db/connection.js';
import { select } from '../db/query.js';

/**
 * Trend queries over build_durations / step_durations (written by recordFinishedBuild): each is a
 * range scan of one index — (builderid | workerid | branch [, step name], started_at) or
 * started_at alone — grouped in SQL. Times are epoch seconds; a day bucket is named by its first
 * second (UTC). Durations are seconds and count builds (steps) that succeeded (SUCCESS or
 * WARNINGS) unless `results` says otherwise: a failed build's duration says little about speed.
 */

export interface TrendFilter {
  builderid?: number;
  workerid?: number;
  /** null: the default branch. */
  branch?: string | null;
  /** started_at ≥ since. */
  since?: number;
  /** started_at < until. */
  until?: number;
}

export interface DurationFilter extends TrendFilter {
  /** Buildbot result codes to include; default [0, 1] (SUCCESS, WARNINGS). */
  results?: readonly number[];
}

/** A day's durations. */
export interface DurationBucket {
  t: number;
  count: number;
  mean: number;
  min: number;
  max: number;
}

/** One build's (or step's) duration. */
export interface DurationPoint {
  t: number;
  buildid: number;
  workerid: number | null;
  duration: number;
  results: number | null;
}

const DAY = 86_400;
const DEFAULT_POINTS = 1000;
const SUCCESSFUL = [0, 1];
/** Buildbot's FAILURE and EXCEPTION; SKIPPED, RETRY and CANCELLED builds are not counted at all. */
const FAILED = [2, 4];
const COUNTED = [0, 1, 2, 4];

function where(f: TrendFilter, extra: { sql: string; params: unknown[] }[] = []): { sql: string; params: unknown[] } {
  const terms: string[] = [];
  const params: unknown[] = [];
  const add = (term: string, ...v: unknown[]) => {
    terms.push(term);
    params.push(...v);
  };
  if (f.builderid !== undefined) add('builderid = ?', f.builderid);
  if (f.workerid !== undefined) add('workerid = ?', f.workerid);
  if (f.branch === null) add('branch IS NULL');
  else if (f.branch !== undefined) add('branch = ?', f.branch);
  for (const e of extra) add(e.sql, ...e.params);
  if (f.since !== undefined) add('started_at >= ?', f.since);
  if (f.until !== undefined) add('started_at < ?', f.until);
  return { sql: terms.length ? `WHERE ${terms.join(' AND ')}` : '', params };
}

const DAY_EXPR = `started_at - (started_at % ${DAY})`;

type BucketRow = { t: number; count: number; mean: number; min: number; max: number };
const toBucket = (r: BucketRow): DurationBucket => ({ t: Number(r.t), count: Number(r.count), mean: Number(r.mean), min: Number(r.min), max: Number(r.max) });

type PointRow = { t: number; buildid: number; workerid: number | null; duration: number; results: number | null };
const toPoint = (r: PointRow): DurationPoint => ({
  t: Number(r.t),
  buildid: Number(r.buildid),
  workerid: r.workerid === null ? null : Number(r.workerid),
  duration: Number(r.duration),
  results: r.results === null ? null : Number(r.results),
});

async function buckets(db: Database, table: string, f: DurationFilter, extra: { sql: string; params: unknown[] }[]): Promise<DurationBucket[]> {
  const w = where(f, [...extra, { sql: 'results IN (?)', params: [[...(f.results ?? SUCCESSFUL)]] }]);
  const rows = await select<BucketRow>(
    db,
    `SELECT ${DAY_EXPR} AS t, COUNT(*) AS count, AVG(duration) AS mean, MIN(duration) AS min, MAX(duration) AS max
       FROM ${table} ${w.sql} GROUP BY ${DAY_EXPR} ORDER BY t`,
    w.params,
  );
  return rows.map(toBucket);
}

/** The latest `limit` points (default 1000), oldest first. */
async function points(db: Database, table: string, f: DurationFilter & { limit?: number }, extra: { sql: string; params: unknown[] }[]): Promise<DurationPoint[]> {
  const w = where(f, [...extra, { sql: 'results IN (?)', params: [[...(f.results ?? SUCCESSFUL)]] }]);
  const rows = await select<PointRow>(
    db,
    `SELECT started_at AS t, buildid, workerid, duration, results FROM ${table} ${w.sql} ORDER BY started_at DESC, buildid DESC LIMIT ?`,
    [...w.params, Math.max(0, Math.floor(f.limit ?? DEFAULT_POINTS))],
  );
  return rows.map(toPoint).reverse();
}

/** Build durations per day. */
export function buildDurationsByDay(db: Database, f: DurationFilter = {}): Promise<DurationBucket[]> {
  return buckets(db, 'build_durations', f, []);
}

/** Build durations, one point per build. */
export function buildDurationsPerBuild(db: Database, f: DurationFilter & { limit?: number } = {}): Promise<DurationPoint[]> {
  return points(db, 'build_durations', f, []);
}

/** A step's durations per day (the step by name, as Buildbot names steps within a build). */
export function stepDurationsByDay(db: Database, f: DurationFilter & { stepName: string }): Promise<DurationBucket[]> {
  return buckets(db, 'step_durations', f, [{ sql: 'name = ?', params: [f.stepName] }]);
}

/** A step's durations, one point per build. */
export function stepDurationsPerBuild(db: Database, f: DurationFilter & { stepName: string; limit?: number }): Promise<DurationPoint[]> {
  return points(db, 'step_durations', f, [{ sql: 'name = ?', params: [f.stepName] }]);
}

export interface RateBucket {
  /** Day start, or the builder/worker/branch for failureRatesBy. */
  key: number | string | null;
  builds: number;
  failed: number;
  /** failed / builds (0 when there are none). */
  rate: number;
}

const FAILED_SUM = `SUM(CASE WHEN results IN (${FAILED.join(', ')}) THEN 1 ELSE 0 END)`;

function toRate(key: number | string | null, builds: number, failed: number): RateBucket {
  return { key, builds, failed, rate: builds === 0 ? 0 : failed / builds };
}

/**
 * Failure rate per day: builds that FAILED or hit an EXCEPTION, over builds that ended SUCCESS,
 * WARNINGS, FAILURE or EXCEPTION.
 */
export async function failureRateByDay(db: Database, f: TrendFilter = {}): Promise<RateBucket[]> {
  const w = where(f, [{ sql: `results IN (${COUNTED.join(', ')})`, params: [] }]);
  const rows = await select<{ t: number; builds: number; failed: number }>(
    db,
    `SELECT ${DAY_EXPR} AS t, COUNT(*) AS builds, ${FAILED_SUM} AS failed FROM build_durations ${w.sql} GROUP BY ${DAY_EXPR} ORDER BY t`,
    w.params,
  );
  return rows.map((r) => toRate(Number(r.t), Number(r.builds), Number(r.failed)));
}

const BY_COLUMN = { builder: 'builderid', worker: 'workerid', branch: 'branch' } as const;

/** Failure rate per builder, worker or branch over a period, highest rate first. */
export async function failureRatesBy(db: Database, q: TrendFilter & { by: keyof typeof BY_COLUMN }): Promise<RateBucket[]> {
  const col = BY_COLUMN[q.by];
  const w = where(q, [{ sql: `results IN (${COUNTED.join(', ')})`, params: [] }]);
  const rows = await select<{ k: number | string | null; builds: number; failed: number }>(
    db,
    `SELECT ${col} AS k, COUNT(*) AS builds, ${FAILED_SUM} AS failed FROM build_durations ${w.sql} GROUP BY ${col}`,
    w.params,
  );
  return rows
    .map((r) => toRate(r.k === null || q.by === 'branch' ? r.k : Number(r.k), Number(r.builds), Number(r.failed)))
    .sort((a, b) => b.rate - a.rate || b.builds - a.builds);
}

/** Mean build (or step) duration per builder, worker or branch over a period. */
export async function durationsBy(
  db: Database,
  q: DurationFilter & { by: keyof typeof BY_COLUMN; stepName?: string },
): Promise<{ key: number | string | null; count: number; mean: number; min: number; max: number }[]> {
  const col = BY_COLUMN[q.by];
  const table = q.stepName === undefined ? 'build_durations' : 'step_durations';
  const extra = [{ sql: 'results IN (?)', params: [[...(q.results ?? SUCCESSFUL)]] as unknown[] }];
  if (q.stepName !== undefined) extra.unshift({ sql: 'name = ?', params: [q.stepName] });
  const w = where(q, extra);
  const rows = await select<{ k: number | string | null; count: number; mean: number; min: number; max: number }>(
    db,
    `SELECT ${col} AS k, COUNT(*) AS count, AVG(duration) AS mean, MIN(duration) AS min, MAX(duration) AS max FROM ${table} ${w.sql} GROUP BY ${col} ORDER BY k`,
    w.params,
  );
  return rows.map((r) => ({
    key: r.k === null || q.by === 'branch' ? r.k : Number(r.k),
    count: Number(r.count),
    mean: Number(r.mean),
    min: Number(r.min),
    max: Number(r.max),
  }));
}
