import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import { nameHash } from './hash.js';
import type { MasterRow } from './model/index.js';
import { epochSeconds, remove, select, selectOne, update } from './query.js';

export type { MasterRow } from './model/index.js';

/**
 * The id of the master called `name` (Buildbot: `hostname:abs_basedir`), created inactive when
 * new. A restarted master finds its old id, and with it its old claims and builds.
 */
export async function findOrCreateMaster(db: Database, name: string, now = epochSeconds()): Promise<number> {
  const hash = nameHash(name);
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM masters WHERE name_hash = ?', params: [hash] },
    { sql: 'INSERT INTO masters (name, name_hash, active, last_active) VALUES (?, ?, 0, ?)', params: [name, hash, now] },
  );
  return id;
}

/** The heartbeat: active, seen at `now`. */
export async function markMasterActive(db: Database, masterid: number, now: number, t?: Transaction): Promise<void> {
  await update(db, 'UPDATE masters SET active = 1, last_active = ? WHERE id = ?', [now, masterid], t);
}

/**
 * Marks the master inactive and drops its scheduler_masters rows (Buildbot's setMasterState).
 * Returns true only to the one caller that changed it from active: when several live masters
 * expire the same dead one, exactly one of them does its housekeeping. Race: the conditional
 * UPDATE matches the row only while `active = 1`, and row (MySQL) or file (sqlite) locking lets
 * one UPDATE at a time see it so.
 */
export async function markMasterInactive(db: Database, masterid: number, t?: Transaction): Promise<boolean> {
  const changed = await update(db, 'UPDATE masters SET active = 0 WHERE id = ? AND active = 1', [masterid], t, false);
  await remove(db, 'DELETE FROM scheduler_masters WHERE masterid = ?', [masterid], t);
  return changed === 1;
}

export async function getMaster(db: Database, masterid: number, t?: Transaction): Promise<MasterRow | undefined> {
  return selectOne<MasterRow>(db, 'SELECT id, name, name_hash, active, last_active FROM masters WHERE id = ?', [masterid], t);
}

export async function getMasters(db: Database, t?: Transaction): Promise<MasterRow[]> {
  return select<MasterRow>(db, 'SELECT id, name, name_hash, active, last_active FROM masters ORDER BY id', [], t);
}

/** Active masters last seen before `before` (epoch s): candidates for expiry. */
export async function getExpiredMasters(db: Database, before: number, t?: Transaction): Promise<MasterRow[]> {
  return select<MasterRow>(
    db,
    'SELECT id, name, name_hash, active, last_active FROM masters WHERE active = 1 AND last_active < ? ORDER BY id',
    [before],
    t,
  );
}
