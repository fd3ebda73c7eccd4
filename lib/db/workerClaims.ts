import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { epochSeconds, insertIgnoringDuplicates, remove, select, selectOne } from './query.js';

/**
 * Which master drives each slave host (table `worker_claims`, migration 006): one at a time, so
 * two masters configured with the same worker never run more than its maxBuilds together, and
 * each master's builders use only the workers it drives (Buildbot: the workers connected to it).
 */

export type WorkerClaimOutcome = { claimed: true } | { claimed: false; heldBy: number };

export interface WorkerClaimRow {
  workerid: number;
  masterid: number;
  claimed_at: number;
}

/**
 * Claims the worker for `masterid`, taking it over from a holder that is no longer active
 * (stopped, or declared dead by expiry, which also deletes its claims). Already ours counts as
 * claimed. A master that is not active itself claims nothing (heldBy is then the holder, or 0).
 *
 * Race: the primary key on worker_claims.workerid is the only arbiter. The INSERT that skips
 * duplicates either adds our row (we won) or finds one there (someone holds it). A takeover first
 * deletes the row only while its holder is inactive — two masters doing this at once delete it
 * once between them — and then inserts like any claim, so again exactly one of them wins.
 */
export async function claimWorker(db: Database, workerid: number, masterid: number, now: number = epochSeconds()): Promise<WorkerClaimOutcome> {
  for (let attempt = 0; attempt < 2; attempt++) {
    // Only an active master claims: one declared dead (while still running) must not take hosts back.
    const won = await insertIgnoringDuplicates(
      db,
      'worker_claims (workerid, masterid, claimed_at) SELECT ?, ?, ? FROM masters WHERE id = ? AND active = 1',
      [workerid, masterid, now, masterid],
    );
    if (won.affectedRows === 1) return { claimed: true };
    const holder = await selectOne<{ masterid: number; active: number | null }>(
      db,
      'SELECT c.masterid, m.active FROM worker_claims c LEFT JOIN masters m ON m.id = c.masterid WHERE c.workerid = ?',
      [workerid],
    );
    if (!holder) {
      if (!(await selectOne(db, 'SELECT 1 AS one FROM masters WHERE id = ? AND active = 1', [masterid]))) return { claimed: false, heldBy: 0 };
      continue; // released in between: try again
    }
    if (Number(holder.masterid) === masterid) return { claimed: true };
    if (Number(holder.active) === 1) return { claimed: false, heldBy: Number(holder.masterid) };
    // A holder that is gone or inactive drives nothing: free its claim, then claim like anyone.
    await remove(
      db,
      'DELETE FROM worker_claims WHERE workerid = ? AND masterid = ? AND NOT EXISTS (SELECT 1 FROM masters m WHERE m.id = ? AND m.active = 1)',
      [workerid, holder.masterid, holder.masterid],
    );
  }
  const holder = await selectOne<{ masterid: number }>(db, 'SELECT masterid FROM worker_claims WHERE workerid = ?', [workerid]);
  return holder && Number(holder.masterid) === masterid ? { claimed: true } : { claimed: false, heldBy: Number(holder?.masterid ?? 0) };
}

/** Does `masterid` still hold the worker? (A master declared dead while alive loses its claims.) */
export async function holdsWorker(db: Database, workerid: number, masterid: number, t?: Transaction): Promise<boolean> {
  const row = await selectOne<{ masterid: number }>(db, 'SELECT masterid FROM worker_claims WHERE workerid = ?', [workerid], t);
  return row !== undefined && Number(row.masterid) === masterid;
}

/** Gives the worker up (only if `masterid` holds it). */
export async function releaseWorkerClaim(db: Database, workerid: number, masterid: number, t?: Transaction): Promise<boolean> {
  return (await remove(db, 'DELETE FROM worker_claims WHERE workerid = ? AND masterid = ?', [workerid, masterid], t)) === 1;
}

/** Gives up every worker a master holds (its stop, and housekeeping of a dead master). */
export function releaseMasterWorkerClaims(db: Database, masterid: number, t?: Transaction): Promise<number> {
  return remove(db, 'DELETE FROM worker_claims WHERE masterid = ?', [masterid], t);
}

export async function getWorkerClaims(db: Database, t?: Transaction): Promise<WorkerClaimRow[]> {
  const rows = await select<WorkerClaimRow>(db, 'SELECT workerid, masterid, claimed_at FROM worker_claims ORDER BY workerid', [], t);
  return rows.map((r) => ({ workerid: Number(r.workerid), masterid: Number(r.masterid), claimed_at: Number(r.claimed_at) }));
}

/** workerid → its holder and whether that master is active, for every claimed worker (one read). */
export async function getWorkerHolders(db: Database, t?: Transaction): Promise<Map<number, { masterid: number; active: boolean }>> {
  const rows = await select<{ workerid: number; masterid: number; active: number | null }>(
    db,
    'SELECT c.workerid, c.masterid, m.active FROM worker_claims c LEFT JOIN masters m ON m.id = c.masterid',
    [],
    t,
  );
  return new Map(rows.map((r) => [Number(r.workerid), { masterid: Number(r.masterid), active: Number(r.active) === 1 }]));
}
