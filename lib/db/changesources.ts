import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import { nameHash } from './hash.js';
import { insertIgnoringDuplicates, remove, select, selectOne } from './query.js';

/**
 * Change sources and which master runs each (Buildbot's changesources / changesource_masters):
 * a change source polls on exactly one master; inserting its changesource_masters row (primary key
 * changesourceid) is the claim.
 */

export async function findOrCreateChangesource(db: Database, name: string, t?: Transaction): Promise<number> {
  const hash = nameHash(name);
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM changesources WHERE name_hash = ?', params: [hash] },
    { sql: 'INSERT INTO changesources (name, name_hash) VALUES (?, ?)', params: [name, hash] },
    t,
  );
  return id;
}

/** 'claimed': won just now; 'held': already ours; 'conflict': a live master runs it. */
export type ChangesourceClaim = 'claimed' | 'held' | 'conflict';

/**
 * Claims change source `changesourceid` for `masterid`. A claim held by a master that is inactive,
 * gone, or silent since before `deadBefore` (epoch s; its heartbeat stopped) is taken over.
 *
 * Race: the claim is the insert of the row keyed by changesourceid, so of several masters
 * inserting at once exactly one succeeds; the others read the holder and get 'conflict' (or 'held'
 * on a retry of our own). Taking over deletes the row only while its holder is still the dead
 * master; several live masters may all delete (one hits), and the insert after it admits one.
 * The holder checks its claim again inside every transaction that stores changes (see
 * holdsChangesource), so a master whose claim was taken over stores nothing more.
 *
 * Fenced like claimRequests' onlyWhileActive: the insert adds the row only while the claimer's
 * masters row says active, and an inactive claimer never hears 'held' (nor 'claimed'), so a master
 * declared dead cannot keep or take a change source.
 */
export async function claimChangesource(db: Database, changesourceid: number, masterid: number, deadBefore: number): Promise<ChangesourceClaim> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const { affectedRows } = await insertIgnoringDuplicates(
      db,
      'changesource_masters (changesourceid, masterid) SELECT ?, id FROM masters WHERE id = ? AND active = 1',
      [changesourceid, masterid],
    );
    if (affectedRows === 1) return 'claimed';
    const holder = await selectOne<{ masterid: number; meActive: number | null }>(
      db,
      'SELECT cm.masterid, me.active AS meActive FROM changesource_masters cm LEFT JOIN masters me ON me.id = ? WHERE cm.changesourceid = ?',
      [masterid, changesourceid],
    );
    if (!holder) {
      if (!(await isActive(db, masterid))) return 'conflict'; // declared dead: claims nothing
      continue; // released meanwhile: try again
    }
    if (Number(holder.meActive) !== 1) return 'conflict';
    if (Number(holder.masterid) === masterid) return 'held';
    if (attempt > 0) break;
    const gone = await remove(
      db,
      `DELETE FROM changesource_masters WHERE changesourceid = ? AND masterid = ?
         AND masterid NOT IN (SELECT id FROM masters WHERE active = 1 AND last_active >= ?)`,
      [changesourceid, Number(holder.masterid), deadBefore],
    );
    if (gone === 0) return 'conflict';
  }
  return 'conflict';
}

async function isActive(db: Database, masterid: number): Promise<boolean> {
  const row = await selectOne<{ active: number }>(db, 'SELECT active FROM masters WHERE id = ?', [masterid]);
  return Number(row?.active) === 1;
}

/**
 * Inside a transaction that stores what the change source found: true while `masterid` still holds
 * it. A locking read on MySQL, so a takeover (which deletes this row) waits for our commit or we
 * wait for its; sqlite's write transactions are serialized anyway.
 */
export async function holdsChangesource(db: Database, changesourceid: number, masterid: number, t: Transaction): Promise<boolean> {
  const lock = db.caps.rowLocks ? ' FOR UPDATE' : '';
  const row = await selectOne<{ masterid: number }>(db, `SELECT masterid FROM changesource_masters WHERE changesourceid = ?${lock}`, [changesourceid], t);
  return row !== undefined && Number(row.masterid) === masterid;
}

/** Gives up this master's claims (all of them, or those in `changesourceids`). */
export async function releaseChangesources(db: Database, masterid: number, changesourceids?: readonly number[]): Promise<void> {
  if (changesourceids && changesourceids.length === 0) return;
  if (changesourceids) await remove(db, 'DELETE FROM changesource_masters WHERE masterid = ? AND changesourceid IN (?)', [masterid, [...changesourceids]]);
  else await remove(db, 'DELETE FROM changesource_masters WHERE masterid = ?', [masterid]);
}

/** The master running each change source (changesourceid → masterid). */
export async function getChangesourceMasters(db: Database, t?: Transaction): Promise<Map<number, number>> {
  const rows = await select<{ changesourceid: number; masterid: number }>(db, 'SELECT changesourceid, masterid FROM changesource_masters', [], t);
  return new Map(rows.map((r) => [Number(r.changesourceid), Number(r.masterid)]));
}
