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
    const row = await selectOne<{ id: number }>(db, find.sql, find.params, t);
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
