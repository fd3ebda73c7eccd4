import type { DbTransaction, Database } from '../db/connection.js';
import { epochSeconds, insertIgnoringDuplicates, select, update } from '../db/query.js';
import { BuildmasterError } from '../errors/index.js';
import { changeAtWindowEnd, type RegressionOptions } from './regression.js';

/**
 * Duration-regression alerts (table regression_alerts): written when a finished build makes a
 * change point certain (lib/history/regression.ts), one per (builder, step or whole build, build
 * where it changed), read and triaged through the API.
 */

export type AlertStatus = 'untriaged' | 'acknowledged' | 'invalid' | 'fixed';
export const ALERT_STATUSES: readonly AlertStatus[] = ['untriaged', 'acknowledged', 'invalid', 'fixed'];

export interface RegressionAlert {
  id: number;
  builderid: number;
  /** null: the whole build's duration. */
  stepName: string | null;
  /** The first build of the new level. */
  buildid: number;
  /** The last build of the old level. */
  prevBuildid: number | null;
  t: number;
  oldMean: number;
  newMean: number;
  /** Positive: slower. */
  percent: number;
  status: AlertStatus;
  createdAt: number;
}

interface AlertRow {
  id: number;
  builderid: number;
  stepname: string;
  buildid: number;
  prev_buildid: number | null;
  t: number;
  old_mean: number;
  new_mean: number;
  percent: number;
  status: AlertStatus;
  created_at: number;
}

const COLUMNS = 'id, builderid, stepname, buildid, prev_buildid, t, old_mean, new_mean, percent, status, created_at';
/** A t of Infinity (no variance on either side) is stored as this. */
const MAX_T = 1e9;

function toAlert(r: AlertRow): RegressionAlert {
  return {
    id: Number(r.id),
    builderid: Number(r.builderid),
    stepName: r.stepname === '' ? null : r.stepname,
    buildid: Number(r.buildid),
    prevBuildid: r.prev_buildid === null ? null : Number(r.prev_buildid),
    t: Number(r.t),
    oldMean: Number(r.old_mean),
    newMean: Number(r.new_mean),
    percent: Number(r.percent),
    status: r.status,
    createdAt: Number(r.created_at),
  };
}

/**
 * Checks one series (oldest first, builds with their duration) and stores an alert when its
 * point forwardWindow from the end is a change. Returns the alert when this call created it
 * (another master checking the same series at once finds the unique key taken).
 */
export async function checkSeries(
  db: Database,
  key: { builderid: number; stepName: string | null },
  series: readonly { buildid: number; duration: number }[],
  opts: RegressionOptions,
  now = epochSeconds(),
  t?: DbTransaction,
): Promise<RegressionAlert | undefined> {
  const change = changeAtWindowEnd(series.map((p) => p.duration), opts);
  if (!change) return undefined;
  const at = series[change.index]!;
  const prev = series[change.index - 1]?.buildid ?? null;
  const clamp = (x: number) => Math.max(-MAX_T, Math.min(MAX_T, x));
  const row = [key.builderid, key.stepName ?? '', at.buildid, prev, clamp(change.t), change.oldMean, change.newMean, clamp(change.percent), now];
  const { affectedRows } = await insertIgnoringDuplicates(
    db,
    'regression_alerts (builderid, stepname, buildid, prev_buildid, t, old_mean, new_mean, percent, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, \'untriaged\', ?)',
    row,
    t,
  );
  if (affectedRows === 0) return undefined;
  const [stored] = await select<AlertRow>(db, `SELECT ${COLUMNS} FROM regression_alerts WHERE builderid = ? AND stepname = ? AND buildid = ?`, [key.builderid, key.stepName ?? '', at.buildid], t);
  return stored ? toAlert(stored) : undefined;
}

export interface AlertFilter {
  builderid?: number;
  /** null: only whole-build alerts. */
  stepName?: string | null;
  status?: AlertStatus;
  /** Created at or after (epoch seconds). */
  since?: number;
  /** Default 100. */
  limit?: number;
  /** An alert id: only older ones (the next page). */
  before?: number;
}

/** Alerts, newest first. */
export async function listAlerts(db: Database, f: AlertFilter = {}): Promise<RegressionAlert[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (term: string, v: unknown) => {
    where.push(term);
    params.push(v);
  };
  if (f.builderid !== undefined) add('builderid = ?', f.builderid);
  if (f.stepName !== undefined) add('stepname = ?', f.stepName ?? '');
  if (f.status !== undefined) add('status = ?', f.status);
  if (f.since !== undefined) add('created_at >= ?', f.since);
  if (f.before !== undefined) add('id < ?', f.before);
  params.push(Math.max(0, Math.floor(f.limit ?? 100)));
  const rows = await select<AlertRow>(db, `SELECT ${COLUMNS} FROM regression_alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, params);
  return rows.map(toAlert);
}

/** Triage: returns false when there is no such alert. */
export async function setAlertStatus(db: Database, id: number, status: AlertStatus): Promise<boolean> {
  if (!ALERT_STATUSES.includes(status)) throw new BuildmasterError(`alert status must be one of ${ALERT_STATUSES.join(', ')}`, { userError: true });
  return (await update(db, 'UPDATE regression_alerts SET status = ? WHERE id = ?', [status, id])) > 0;
}
