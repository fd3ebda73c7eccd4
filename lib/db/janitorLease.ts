import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { insertIgnoringDuplicates, select, selectOne, update } from './query.js';

/**
 * The janitor lease (table janitor_lease, migration 007): the one row that says which master
 * collects garbage now, until when, and when the last run ended. Every master asks; at most one
 * gets it. A holder renews it while its run lasts, and releases it (stamping last_run_at) at the end;
 * a holder that dies stops renewing, and the lease is taken over once it expires — or at once when
 * the holder's masters row is already marked inactive (the dead-master reaper got there first).
 */

const LEASE_ID = 1;
/** masterid equals the parameter (given twice), NULL (cleanupdb) included, written the same on both dialects. */
const HOLDER_IS = '(masterid = ? OR (masterid IS NULL AND ? IS NULL))';

export type LeaseOutcome = { acquired: true } | { acquired: false; holder: number | null; expiresAt: number; lastRunAt: number };

export interface LeaseRow {
  masterid: number | null;
  expires_at: number;
  last_run_at: number;
  cursors: string;
}

/** Janitor progress kept between runs: the highest id each kept-row horizon has finished. */
export type JanitorCursors = Partial<Record<'logs' | 'buildData' | 'testResults', number>>;

async function ensureRow(db: Database): Promise<void> {
  // Race: every master may insert at once; the primary key keeps one row, the rest skip.
  await insertIgnoringDuplicates(db, 'janitor_lease (id, masterid, expires_at, last_run_at, cursors) VALUES (?, NULL, 0, 0, ?)', [LEASE_ID, '{}']);
}

export function getLease(db: Database, t?: Transaction): Promise<LeaseRow | undefined> {
  return selectOne<LeaseRow>(db, 'SELECT masterid, expires_at, last_run_at, cursors FROM janitor_lease WHERE id = ?', [LEASE_ID], t);
}

/**
 * Takes the lease for `masterid` (null: the offline `cleanupdb`) until now + leaseSeconds, if it is
 * free (expired, released, or its holder is marked inactive) and, unless `force`, the last run
 * ended at least `intervalSeconds` ago.
 *
 * Race: one conditional UPDATE of one row decides. Two masters that both see the lease free both
 * run it; the row lock (MySQL) or the write lock (sqlite) orders them, and the second one's WHERE no
 * longer matches the row the first one wrote, so it matches 0 rows and loses.
 */
export async function acquireLease(
  db: Database,
  masterid: number | null,
  opts: { now: number; leaseSeconds: number; intervalSeconds: number; force?: boolean },
): Promise<LeaseOutcome> {
  await ensureRow(db);
  const due = opts.force ? Number.MAX_SAFE_INTEGER : opts.now - opts.intervalSeconds;
  const matched = await update(
    db,
    `UPDATE janitor_lease SET masterid = ?, expires_at = ?
      WHERE id = ? AND last_run_at <= ?
        AND (expires_at < ? OR masterid IN (SELECT id FROM masters WHERE active = 0))`,
    [masterid, opts.now + opts.leaseSeconds, LEASE_ID, due, opts.now],
  );
  if (matched === 1) return { acquired: true };
  const row = await getLease(db);
  return { acquired: false, holder: row?.masterid ?? null, expiresAt: row?.expires_at ?? 0, lastRunAt: row?.last_run_at ?? 0 };
}

/** Extends our lease; false when it is no longer ours (it expired and another took it). */
export async function renewLease(db: Database, masterid: number | null, expiresAt: number): Promise<boolean> {
  const matched = await update(db, `UPDATE janitor_lease SET expires_at = ? WHERE id = ? AND ${HOLDER_IS}`, [expiresAt, LEASE_ID, masterid, masterid]);
  return matched === 1;
}

/** Ends our run: the lease is free and the next run is due `interval` after `now`. */
export async function releaseLease(db: Database, masterid: number | null, now: number, cursors?: JanitorCursors): Promise<boolean> {
  const sets = cursors ? ', cursors = ?' : '';
  const params: unknown[] = [now, ...(cursors ? [JSON.stringify(cursors)] : []), LEASE_ID, masterid, masterid];
  const matched = await update(db, `UPDATE janitor_lease SET expires_at = 0, last_run_at = ?${sets} WHERE id = ? AND ${HOLDER_IS}`, params);
  return matched === 1;
}

export async function readCursors(db: Database): Promise<JanitorCursors> {
  const rows = await select<{ cursors: string }>(db, 'SELECT cursors FROM janitor_lease WHERE id = ?', [LEASE_ID]);
  try {
    return JSON.parse(rows[0]?.cursors ?? '{}') as JanitorCursors;
  } catch {
    return {};
  }
}
