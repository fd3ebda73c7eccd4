import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import { nameHash } from './hash.js';
import type { BuilderRow } from './model/index.js';
import { batches, distinct, insert, insertIgnoringDuplicates, remove, select, selectOne, update, valuesList } from './query.js';

export type { BuilderRow } from './model/index.js';

export interface BuilderInfo {
  /** Undefined leaves the stored description alone; null clears it. */
  description?: string | null;
  /** Undefined leaves the builder's tags alone; [] removes them. */
  tags?: readonly string[];
}

/** The id of the builder called `name`, created when new; then description and tags updated as given. */
export async function findOrCreateBuilder(db: Database, name: string, info: BuilderInfo = {}): Promise<number> {
  const hash = nameHash(name);
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM builders WHERE name_hash = ?', params: [hash] },
    { sql: 'INSERT INTO builders (name, description, name_hash) VALUES (?, ?, ?)', params: [name, info.description ?? null, hash] },
  );
  await updateBuilderInfo(db, id, info);
  return id;
}

/** The id of the tag called `name`, created when new. */
export async function findOrCreateTag(db: Database, name: string, t?: Transaction): Promise<number> {
  const hash = nameHash(name);
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM tags WHERE name_hash = ?', params: [hash] },
    { sql: 'INSERT INTO tags (name, name_hash) VALUES (?, ?)', params: [name, hash] },
    t,
  );
  return id;
}

/** Writes description and tags (Buildbot's updateBuilderInfo), only what differs from the DB. */
export async function updateBuilderInfo(db: Database, builderid: number, info: BuilderInfo): Promise<void> {
  const current = await selectOne<{ description: string | null }>(db, 'SELECT description FROM builders WHERE id = ?', [builderid]);
  if (!current) return;
  if (info.description !== undefined && current.description !== info.description) {
    await update(db, 'UPDATE builders SET description = ? WHERE id = ?', [info.description, builderid]);
  }
  if (info.tags === undefined) return;
  const tagids: number[] = [];
  for (const tag of new Set(info.tags)) tagids.push(await findOrCreateTag(db, tag));
  const wanted = distinct(tagids);
  await db.transaction(async (t) => {
    const have = (await select<{ tagid: number }>(db, 'SELECT tagid FROM builders_tags WHERE builderid = ?', [builderid], t)).map((r) => r.tagid);
    const stale = have.filter((x) => !wanted.includes(x));
    const missing = wanted.filter((x) => !have.includes(x));
    if (stale.length > 0) await remove(db, 'DELETE FROM builders_tags WHERE builderid = ? AND tagid IN (?)', [builderid, stale], t);
    if (missing.length > 0) {
      await insert(db, `INSERT INTO builders_tags (builderid, tagid) VALUES ${valuesList(missing.length, 2)}`, missing.flatMap((x) => [builderid, x]), t);
    }
  }, { driverOnly: true });
}

/**
 * Makes this master's builder_masters rows exactly `builderids` (others of this master are removed,
 * with their configured_workers: sqlite has no cascading foreign keys). Returns builderid → the
 * builder_masters id, for setConfiguredWorkers.
 */
export async function setBuilderMasters(db: Database, masterid: number, builderids: readonly number[]): Promise<Map<number, number>> {
  const wanted = distinct(builderids);
  return db.transaction(async (t) => {
    const current = await getBuilderMasterIds(db, masterid, t);
    const stale = [...current].filter(([builderid]) => !wanted.includes(builderid)).map(([, id]) => id);
    for (const batch of batches(db, stale)) {
      await remove(db, 'DELETE FROM configured_workers WHERE buildermasterid IN (?)', [batch], t);
      await remove(db, 'DELETE FROM builder_masters WHERE id IN (?)', [batch], t);
    }
    const missing = wanted.filter((b) => !current.has(b));
    for (const batch of batches(db, missing, 2)) {
      await insertIgnoringDuplicates(db, `builder_masters (builderid, masterid) VALUES ${valuesList(batch.length, 2)}`, batch.flatMap((b) => [b, masterid]), t);
    }
    return missing.length > 0 || stale.length > 0 ? getBuilderMasterIds(db, masterid, t) : current;
  }, { driverOnly: true });
}

/** builderid → builder_masters.id for this master. */
export async function getBuilderMasterIds(db: Database, masterid: number, t?: Transaction): Promise<Map<number, number>> {
  const rows = await select<{ id: number; builderid: number }>(db, 'SELECT id, builderid FROM builder_masters WHERE masterid = ?', [masterid], t);
  return new Map(rows.map((r) => [r.builderid, r.id]));
}

/** Removes every builder_masters row (and configured_workers row) of a master: its housekeeping. */
export async function removeBuilderMasters(db: Database, masterid: number): Promise<void> {
  await setBuilderMasters(db, masterid, []);
}

export function getBuilder(db: Database, builderid: number, t?: Transaction): Promise<BuilderRow | undefined> {
  return selectOne<BuilderRow>(db, 'SELECT id, name, description, name_hash FROM builders WHERE id = ?', [builderid], t);
}

/** The builder's tag names, sorted. */
export async function getBuilderTags(db: Database, builderid: number, t?: Transaction): Promise<string[]> {
  const rows = await select<{ name: string }>(
    db,
    'SELECT tags.name FROM builders_tags bt JOIN tags ON tags.id = bt.tagid WHERE bt.builderid = ? ORDER BY tags.name',
    [builderid],
    t,
  );
  return rows.map((r) => r.name);
}
