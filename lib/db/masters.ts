import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import { nameHash } from './hash.js';
import type { MasterRow } from './model/index.js';
import { epochSeconds, remove, select, selectOne, update } from './query.js';
import { getObjectId, getState, setState } from './state.js';

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
 * A running master's heartbeat: seen at `now`, but only while it is still active. Returns false
 * when another master has declared it dead (active = 0) in the meantime: the caller must stop
 * claiming and stop its builds, whose requests the other master already released. Unlike
 * markMasterActive this never revives an expired master, so a slow master cannot undo the expiry.
 * Race: this UPDATE and the expiring master's (markMasterInactive with `silentBefore`) both
 * write the one masters row, one at a time (row lock on MySQL, file lock on sqlite), and each
 * re-checks the other's condition: a beat that lands first makes the expiry match nothing; an
 * expiry that lands first makes the beat match nothing, and the master learns it was declared dead.
 */
export async function heartbeatMaster(db: Database, masterid: number, now: number, t?: Transaction): Promise<boolean> {
  return (await update(db, 'UPDATE masters SET last_active = ? WHERE id = ? AND active = 1', [now, masterid], t)) === 1;
}

/** Buildbot's class name for the master's `objects` row; its boot record lives in object_state. */
const MASTER_CLASS = 'buildbot.master.BuildMaster';

export interface MasterBoot {
  /** Epoch seconds at which this incarnation started. */
  boot_time: number;
  pid: number;
  /** Incarnations of this master name so far, this one included. */
  incarnation: number;
}

/**
 * Records a master's boot (time, pid, incarnation number) under its `objects` row, as Buildbot keeps
 * per-master state; Buildbot's masters table has no column for it, and the schema contract allows
 * only additions, so it lives beside the row rather than in it. Returns the record written.
 */
export async function recordMasterBoot(db: Database, name: string, bootTime: number, pid = process.pid): Promise<MasterBoot> {
  const objectid = await getObjectId(db, name, MASTER_CLASS);
  const previous = await getState<MasterBoot | null>(db, objectid, 'boot', null);
  const boot: MasterBoot = { boot_time: bootTime, pid, incarnation: (previous?.incarnation ?? 0) + 1 };
  await setState(db, objectid, 'boot', boot);
  return boot;
}

/** The last boot recorded for the master called `name`, if any. */
export async function getMasterBoot(db: Database, name: string): Promise<MasterBoot | undefined> {
  const objectid = await getObjectId(db, name, MASTER_CLASS);
  return (await getState<MasterBoot | null>(db, objectid, 'boot', null)) ?? undefined;
}

/**
 * Inactive masters silent since before `before` that still hold claims on incomplete requests:
 * the master that expired one died before finishing its housekeeping (or the master stopped
 * without it). Driven by the buildrequests_complete index, so it costs the pending queue, not
 * the history; cheap enough for every heartbeat.
 */
export async function getInactiveMastersHoldingClaims(db: Database, before: number, t?: Transaction): Promise<MasterRow[]> {
  return select<MasterRow>(
    db,
    `SELECT m.id, m.name, m.name_hash, m.active, m.last_active FROM masters m
     WHERE m.active = 0 AND m.last_active < ? AND m.id IN (
       SELECT c.masterid FROM buildrequests br JOIN buildrequest_claims c ON c.brid = br.id WHERE br.complete = 0)
     ORDER BY m.id`,
    [before],
    t,
  );
}

/**
 * Marks the master inactive and drops its scheduler_masters rows (Buildbot's setMasterState).
 * Returns true only to the one caller that changed it from active: when several live masters
 * expire the same dead one, exactly one of them does its housekeeping. Race: the conditional
 * UPDATE matches the row only while `active = 1`, and row (MySQL) or file (sqlite) locking lets
 * one UPDATE at a time see it so. With `silentBefore` (expiry) it also requires the master's last
 * beat to be older than that, re-checked in the same statement, so a master whose beat landed
 * after the expirer read it is left alone (and keeps its schedulers).
 */
export async function markMasterInactive(db: Database, masterid: number, t?: Transaction, silentBefore?: number): Promise<boolean> {
  const changed =
    silentBefore === undefined
      ? await update(db, 'UPDATE masters SET active = 0 WHERE id = ? AND active = 1', [masterid], t, false)
      : await update(db, 'UPDATE masters SET active = 0 WHERE id = ? AND active = 1 AND last_active < ?', [masterid, silentBefore], t, false);
  if (silentBefore !== undefined && changed !== 1) return false;
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
