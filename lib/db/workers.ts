import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import type { WorkerRow } from './model/index.js';
import { batches, distinct, insert, insertIgnoringDuplicates, remove, select, selectOne, update, valuesList } from './query.js';

export type { WorkerRow } from './model/index.js';

/** The REST API's `workerinfo`: free-form facts about the slave host (os, admin, version…). */
export type WorkerInfo = Record<string, unknown>;

/** A worker row with its JSON decoded and where it is connected and configured. */
export interface WorkerDetails {
  workerid: number;
  name: string;
  workerinfo: WorkerInfo;
  paused: boolean;
  graceful: boolean;
  connected_to: number[];
  configured_on: { builderid: number; masterid: number }[];
}

/** The id of the worker called `name` (workers.name is unique), created with `info` ({}) when new. */
export async function findOrCreateWorker(db: Database, name: string, info: WorkerInfo = {}, t?: Transaction): Promise<number> {
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM workers WHERE name = ?', params: [name] },
    { sql: 'INSERT INTO workers (name, info, paused, graceful) VALUES (?, ?, 0, 0)', params: [name, JSON.stringify(info)] },
    t,
  );
  return id;
}

export async function updateWorkerInfo(db: Database, workerid: number, info: WorkerInfo, t?: Transaction): Promise<void> {
  await update(db, 'UPDATE workers SET info = ? WHERE id = ?', [JSON.stringify(info), workerid], t);
}

/**
 * Makes the workers configured on this builder_masters row exactly `workerids` (Buildbot's
 * configured_workers, which the REST API's `configured_on` reads). One transaction.
 */
export async function setConfiguredWorkers(db: Database, buildermasterid: number, workerids: readonly number[], t?: Transaction): Promise<void> {
  if (!t) return db.transaction((tx) => setConfiguredWorkers(db, buildermasterid, workerids, tx), { driverOnly: true });
  const wanted = distinct(workerids);
  const have = new Set(
    (await select<{ workerid: number }>(db, 'SELECT workerid FROM configured_workers WHERE buildermasterid = ?', [buildermasterid], t)).map(
      (r) => r.workerid,
    ),
  );
  const stale = [...have].filter((w) => !wanted.includes(w));
  for (const batch of batches(db, stale)) {
    await remove(db, 'DELETE FROM configured_workers WHERE buildermasterid = ? AND workerid IN (?)', [buildermasterid, batch], t);
  }
  const missing = wanted.filter((w) => !have.has(w));
  for (const batch of batches(db, missing, 2)) {
    await insert(
      db,
      `INSERT INTO configured_workers (buildermasterid, workerid) VALUES ${valuesList(batch.length, 2)}`,
      batch.flatMap((w) => [buildermasterid, w]),
      t,
    );
  }
}

/** Records that the worker is connected to the master. Idempotent (the pair is unique). */
export async function workerConnected(db: Database, workerid: number, masterid: number, t?: Transaction): Promise<void> {
  await insertIgnoringDuplicates(db, 'connected_workers (masterid, workerid) VALUES (?, ?)', [masterid, workerid], t);
}

export async function workerDisconnected(db: Database, workerid: number, masterid: number, t?: Transaction): Promise<void> {
  await remove(db, 'DELETE FROM connected_workers WHERE workerid = ? AND masterid = ?', [workerid, masterid], t);
}

/** Drops every connected_workers row of a master (its housekeeping; Buildbot never cleans them). */
export async function disconnectAllWorkers(db: Database, masterid: number, t?: Transaction): Promise<number> {
  return remove(db, 'DELETE FROM connected_workers WHERE masterid = ?', [masterid], t);
}

/** Pauses/unpauses, or sets graceful shutdown; an omitted flag keeps its value. */
export async function setWorkerState(db: Database, workerid: number, state: { paused?: boolean; graceful?: boolean }, t?: Transaction): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  if (state.paused !== undefined) {
    sets.push('paused = ?');
    params.push(state.paused ? 1 : 0);
  }
  if (state.graceful !== undefined) {
    sets.push('graceful = ?');
    params.push(state.graceful ? 1 : 0);
  }
  if (sets.length === 0) return;
  await update(db, `UPDATE workers SET ${sets.join(', ')} WHERE id = ?`, [...params, workerid], t);
}

export function getWorkerRow(db: Database, workerid: number, t?: Transaction): Promise<WorkerRow | undefined> {
  return selectOne<WorkerRow>(db, 'SELECT id, name, info, paused, graceful FROM workers WHERE id = ?', [workerid], t);
}

/** The worker with its info decoded, the masters it is connected to and where it is configured. */
export async function getWorker(db: Database, workerid: number, t?: Transaction): Promise<WorkerDetails | undefined> {
  const row = await getWorkerRow(db, workerid, t);
  if (!row) return undefined;
  const connected = await select<{ masterid: number }>(db, 'SELECT masterid FROM connected_workers WHERE workerid = ? ORDER BY masterid', [workerid], t);
  const configured = await select<{ builderid: number; masterid: number }>(
    db,
    `SELECT bm.builderid, bm.masterid FROM configured_workers cw JOIN builder_masters bm ON bm.id = cw.buildermasterid
     WHERE cw.workerid = ? ORDER BY bm.builderid, bm.masterid`,
    [workerid],
    t,
  );
  return {
    workerid: row.id,
    name: row.name,
    workerinfo: parseInfo(row.info),
    paused: Number(row.paused) === 1,
    graceful: Number(row.graceful) === 1,
    connected_to: connected.map((r) => r.masterid),
    configured_on: configured,
  };
}

function parseInfo(json: string): WorkerInfo {
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as WorkerInfo) : {};
  } catch {
    return {};
  }
}
