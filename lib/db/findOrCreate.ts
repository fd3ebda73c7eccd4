import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { insert, isUniqueViolation, selectOne, type Params } from './query.js';

/**
 * Buildbot's findOrCreateSomethingId (db/base.py): look the row up by its unique key, insert it
 * when missing. Race: two masters may both miss and both insert; the unique index admits one, and
 * the loser's unique violation sends it back to the lookup, which now finds the winner's row.
 */
export async function findOrCreateId(
  db: Database,
  find: { sql: string; params: Params },
  create: { sql: string; params: Params },
  t?: Transaction,
): Promise<{ id: number; created: boolean }> {
  for (let attempt = 0; ; attempt++) {
    // After losing the race inside a MySQL transaction, a plain read would still see the snapshot
    // taken before the winner committed; a locking read sees the winner's row.
    const sql = attempt > 0 && t && db.caps.rowLocks ? `${find.sql} FOR UPDATE` : find.sql;
    const row = await selectOne<{ id: number }>(db, sql, find.params, t);
    if (row) return { id: Number(row.id), created: false };
    try {
      const { insertId } = await insert(db, create.sql, create.params, t);
      return { id: insertId, created: true };
    } catch (err) {
      // A failed statement leaves a sqlite or MySQL transaction usable, so this works inside one too.
      if (!isUniqueViolation(err) || attempt >= 2) throw err;
    }
  }
}
