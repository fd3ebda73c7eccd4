import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import { insert, isUniqueViolation, remove, select, selectOne, update } from './query.js';

/**
 * Persistent state of named objects (Buildbot's db/state.py): `objects` identifies a thing by
 * (name, class_name), `object_state` keeps its values as JSON, one row per (objectid, name).
 * Schedulers keep `last_build`, `lastTrigger`, `lastCodebases`, `upstream_bsids` here under the
 * class name Buildbot uses ('Periodic', 'Nightly', …), so a database moves between the two.
 */

/** The id of object (name, class_name), created when new. */
export async function getObjectId(db: Database, name: string, className: string, t?: Transaction): Promise<number> {
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM objects WHERE name = ? AND class_name = ?', params: [name, className] },
    { sql: 'INSERT INTO objects (name, class_name) VALUES (?, ?)', params: [name, className] },
    t,
  );
  return id;
}

/** The stored value of `name`, or `dflt` when there is none. */
export async function getState<T>(db: Database, objectid: number, name: string, dflt: T, t?: Transaction): Promise<T> {
  const row = await selectOne<{ value_json: string }>(db, 'SELECT value_json FROM object_state WHERE objectid = ? AND name = ?', [objectid, name], t);
  if (!row) return dflt;
  return JSON.parse(row.value_json) as T;
}

/** Every stored value of the object, by name. */
export async function getAllState(db: Database, objectid: number, t?: Transaction): Promise<Record<string, unknown>> {
  const rows = await select<{ name: string; value_json: string }>(db, 'SELECT name, value_json FROM object_state WHERE objectid = ?', [objectid], t);
  return Object.fromEntries(rows.map((r) => [r.name, JSON.parse(r.value_json) as unknown]));
}

/**
 * Stores `value` (JSON) under `name`. Race: two writers of a new name may both miss the UPDATE;
 * the unique (objectid, name) index admits one INSERT and the loser's violation sends it back to
 * the UPDATE, so the last writer wins as with any UPDATE. Callers that must not lose a write to a
 * concurrent one (schedulers) serialise on their claim row inside a transaction.
 */
export async function setState(db: Database, objectid: number, name: string, value: unknown, t?: Transaction): Promise<void> {
  const json = JSON.stringify(value ?? null);
  for (let attempt = 0; ; attempt++) {
    const matched = await update(db, 'UPDATE object_state SET value_json = ? WHERE objectid = ? AND name = ?', [json, objectid, name], t);
    if (matched > 0) return;
    try {
      await insert(db, 'INSERT INTO object_state (objectid, name, value_json) VALUES (?, ?, ?)', [objectid, name, json], t);
      return;
    } catch (err) {
      if (attempt >= 2 || !isUniqueViolation(err)) throw err;
    }
  }
}

/** Forgets `name` (getState gives the default again). */
export async function deleteState(db: Database, objectid: number, name: string, t?: Transaction): Promise<void> {
  await remove(db, 'DELETE FROM object_state WHERE objectid = ? AND name = ?', [objectid, name], t);
}

/**
 * Stores `value` under `name` only if nothing is stored yet; returns the value now stored. Race:
 * of several first writers the unique (objectid, name) index admits one INSERT, and every caller
 * then reads that one value.
 */
export async function initState<T>(db: Database, objectid: number, name: string, value: T, t?: Transaction): Promise<T> {
  try {
    await insert(db, 'INSERT INTO object_state (objectid, name, value_json) VALUES (?, ?, ?)', [objectid, name, JSON.stringify(value ?? null)], t);
    return value;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  return getState(db, objectid, name, value, t);
}
