import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { epochSeconds, insert, insertIgnoringDuplicates, remove, select, valuesList } from './query.js';

/**
 * MasterLock / WorkerLock instances held in the database (tables `locks` and `lock_holders`, see
 * migration 006), so a lock holds across every master sharing the database. Semantics are
 * Buildbot's (locks.py BaseLock.isAvailable), without its in-memory FIFO of waiters:
 *   - counting access of `count` units: no exclusive holder, and the units held + count ≤ maxCount;
 *   - exclusive access: no holder at all;
 *   - count 0 takes nothing and always succeeds.
 * maxCount is not stored: each acquirer passes its config's (a WorkerLock's per-worker override
 * already applied).
 */

export type LockKind = 'MasterLock' | 'WorkerLock';
export type LockMode = 'counting' | 'exclusive';

/** One lock instance wanted with one access. */
export interface LockRequest {
  kind: LockKind;
  name: string;
  /** The worker of a WorkerLock's instance; 0 for a MasterLock. */
  workerid: number;
  mode: LockMode;
  count: number;
  maxCount: number;
}

/** Who holds: a build (its builder locks, stepid null) or one of its steps. */
export interface LockHolder {
  buildid: number;
  stepid: number | null;
  masterid: number;
}

export type AcquireOutcome = { acquired: true } | { acquired: false; blockedBy: LockRequest };

export interface LockHolderRow {
  id: number;
  lockid: number;
  lockkind: LockKind;
  lockname: string;
  workerid: number;
  buildid: number;
  stepid: number | null;
  masterid: number;
  mode: LockMode;
  count: number;
  acquired_at: number;
}

/** Lock rows are never deleted, so their ids can be remembered per database handle. */
const lockIdCache = new WeakMap<Database, Map<string, number>>();

function key(r: { kind: string; name: string; workerid: number }): string {
  return `${r.kind}\u0000${r.workerid}\u0000${r.name}`;
}

/**
 * The `locks` row id of each instance, created when missing. Runs outside any acquiring
 * transaction, in autocommit: the unique (lockkind, lockname, workerid) key makes concurrent
 * creators agree on one row, and keeping the INSERT out of the transaction keeps its gap locks
 * (MySQL) out of the acquirers' way.
 */
export async function lockIds(db: Database, wanted: readonly { kind: LockKind; name: string; workerid: number }[]): Promise<Map<string, number>> {
  let cache = lockIdCache.get(db);
  if (!cache) lockIdCache.set(db, (cache = new Map()));
  const missing = [...new Map(wanted.filter((w) => !cache.has(key(w))).map((w) => [key(w), w])).values()];
  if (missing.length > 0) {
    await insertIgnoringDuplicates(
      db,
      `locks (lockkind, lockname, workerid) VALUES ${valuesList(missing.length, 3)}`,
      missing.flatMap((m) => [m.kind, m.name, m.workerid]),
    );
    for (const m of missing) {
      const rows = await select<{ id: number }>(db, 'SELECT id FROM locks WHERE lockkind = ? AND lockname = ? AND workerid = ?', [m.kind, m.name, m.workerid]);
      if (rows[0]) cache.set(key(m), Number(rows[0].id));
    }
  }
  return new Map(wanted.map((w) => [key(w), cache.get(key(w))!]));
}

/** What is held of each lock: units of counting access and exclusive holders. */
type Tally = Map<number, { counting: number; exclusive: number }>;

async function tally(db: Database, ids: readonly number[], t?: Transaction): Promise<Tally> {
  const rows = await select<{ lockid: number; mode: LockMode; total: number | string; holders: number | string }>(
    db,
    'SELECT lockid, mode, SUM(count) AS total, COUNT(*) AS holders FROM lock_holders WHERE lockid IN (?) GROUP BY lockid, mode',
    [ids],
    t,
  );
  const out: Tally = new Map(ids.map((id) => [id, { counting: 0, exclusive: 0 }]));
  for (const r of rows) {
    const entry = out.get(Number(r.lockid))!;
    if (r.mode === 'exclusive') entry.exclusive += Number(r.holders);
    else entry.counting += Number(r.total);
  }
  return out;
}

/** Buildbot's isAvailable, on what the database holds; adds the access to `held` when it fits. */
function take(held: { counting: number; exclusive: number }, r: LockRequest): boolean {
  if (r.mode === 'exclusive') {
    if (held.exclusive > 0 || held.counting > 0) return false;
    held.exclusive += 1;
    return true;
  }
  if (held.exclusive > 0 || held.counting + r.count > r.maxCount) return false;
  held.counting += r.count;
  return true;
}

/** The requests that take something (count 0 takes nothing, as in Buildbot). */
function effective(requests: readonly LockRequest[]): LockRequest[] {
  return requests.filter((r) => r.mode === 'exclusive' || r.count > 0);
}

/**
 * Would every request be granted now? A hint, not a promise (Buildbot's canStartBuild check):
 * another master may take a lock before our acquire; the acquire decides.
 */
export async function locksAvailable(db: Database, requests: readonly LockRequest[]): Promise<boolean> {
  const wanted = effective(requests);
  if (wanted.length === 0) return true;
  const ids = await lockIds(db, wanted);
  const held = await tally(db, [...new Set(ids.values())]);
  return wanted.every((r) => take(held.get(ids.get(key(r))!)!, r));
}

/**
 * Takes every lock of `requests` for `holder`, or none of them (a holder that kept some while
 * waiting for others could deadlock with one doing the opposite). One transaction:
 *
 * Race: the acquirer first locks the `locks` rows of all the instances it wants — on MySQL with
 * `SELECT … FOR UPDATE` in id order (every acquirer locks in the same order, so two never wait on
 * each other in a cycle); on sqlite the transaction is BEGIN IMMEDIATE, which holds the database's
 * write lock from the start. Only then does it count the holders and insert its own. Any other
 * acquirer of one of these instances waits for our commit before it counts, so no two acquirers
 * decide on the same count. (MySQL: the holder count is the transaction's first plain read, so its
 * snapshot is taken after the row locks are granted and sees every holder committed before them.)
 * A release only deletes rows; it never makes a decision wrong, only conservative until the next try.
 */
export async function acquireLocks(
  db: Database,
  holder: LockHolder,
  requests: readonly LockRequest[],
  now: number = epochSeconds(),
): Promise<AcquireOutcome> {
  const wanted = effective(requests);
  if (wanted.length === 0) return { acquired: true };
  const ids = await lockIds(db, wanted);
  const sortedIds = [...new Set(ids.values())].sort((a, b) => a - b);
  return db.transaction(
    async (t) => {
      if (db.caps.rowLocks) await select(db, 'SELECT id FROM locks WHERE id IN (?) ORDER BY id FOR UPDATE', [sortedIds], t);
      const held = await tally(db, sortedIds, t);
      for (const r of wanted) {
        if (!take(held.get(ids.get(key(r))!)!, r)) return { acquired: false, blockedBy: r } as const;
      }
      await insert(
        db,
        `INSERT INTO lock_holders (lockid, buildid, stepid, masterid, mode, count, acquired_at) VALUES ${valuesList(wanted.length, 7)}`,
        wanted.flatMap((r) => [ids.get(key(r)), holder.buildid, holder.stepid, holder.masterid, r.mode, r.mode === 'exclusive' ? 1 : r.count, now]),
        t,
      );
      return { acquired: true } as const;
    },
    { driverOnly: true },
  );
}

/** Releases everything a build holds, its steps' locks included. Returns the rows released. */
export function releaseBuildLocks(db: Database, buildid: number, t?: Transaction): Promise<number> {
  return remove(db, 'DELETE FROM lock_holders WHERE buildid = ?', [buildid], t);
}

/** Releases what one step holds. */
export function releaseStepLocks(db: Database, buildid: number, stepid: number, t?: Transaction): Promise<number> {
  return remove(db, 'DELETE FROM lock_holders WHERE buildid = ? AND stepid = ?', [buildid, stepid], t);
}

/**
 * Releases every lock a master's builds hold: housekeeping of a dead master (expiry), or of our own
 * previous incarnation (start) and leftovers (stop).
 */
export function releaseMasterLocks(db: Database, masterid: number, t?: Transaction): Promise<number> {
  return remove(db, 'DELETE FROM lock_holders WHERE masterid = ?', [masterid], t);
}

/** The holders, with their lock's identity, optionally of one master; oldest first. */
export function getLockHolders(db: Database, opts: { masterid?: number } = {}, t?: Transaction): Promise<LockHolderRow[]> {
  const where = opts.masterid !== undefined ? 'WHERE h.masterid = ?' : '';
  return select<LockHolderRow>(
    db,
    `SELECT h.id, h.lockid, l.lockkind, l.lockname, l.workerid, h.buildid, h.stepid, h.masterid, h.mode, h.count, h.acquired_at
     FROM lock_holders h JOIN locks l ON l.id = h.lockid ${where} ORDER BY h.id`,
    opts.masterid !== undefined ? [opts.masterid] : [],
    t,
  );
}
