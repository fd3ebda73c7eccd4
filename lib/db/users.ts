import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { incrementIdentifier } from './identifiers.js';
import { insert, isUniqueViolation, selectOne } from './query.js';

/** The version-control systems whose change authors become users (Buildbot's users.srcs). */
export const USER_SOURCES: readonly string[] = ['git', 'svn', 'hg', 'cvs', 'darcs', 'bzr', 'fossil'];

/** users_info.attr_data and users.identifier are VARCHAR(128) and (255). */
const MAX_ATTR_DATA = 128;
const MAX_IDENTIFIER = 255;

function findUid(db: Database, attrType: string, attrData: string, t: Transaction | undefined, locking: boolean): Promise<{ uid: number } | undefined> {
  const lock = locking && t && db.caps.rowLocks ? ' FOR UPDATE' : '';
  return selectOne<{ uid: number }>(db, `SELECT uid FROM users_info WHERE attr_type = ? AND attr_data = ?${lock}`, [attrType, attrData], t);
}

/**
 * Buildbot's findUserByAttr: the uid of the user known as `attrData` in system `attrType` (e.g.
 * 'git', 'Ann <ann@example.org>'), created with that identifier when new. Returns undefined when
 * the value does not fit users_info (Buildbot would refuse the change instead).
 *
 * Race: two masters may both miss and both insert. users_info's unique (attr_type, attr_data)
 * admits one; the loser's violation sends it back to a locking read, which sees the winner's row.
 * An identifier already taken by another user (the same author in another system) gets `_2`, `_3`.
 */
export async function findOrCreateUserByAttr(db: Database, attrType: string, attrData: string, t?: Transaction): Promise<number | undefined> {
  if ([...attrData].length > MAX_ATTR_DATA) return undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = await findUid(db, attrType, attrData, t, attempt > 0);
    if (found) return Number(found.uid);
    let identifier = [...attrData].slice(0, MAX_IDENTIFIER).join('');
    while (await selectOne(db, 'SELECT uid FROM users WHERE identifier = ?', [identifier], t)) {
      identifier = incrementIdentifier(MAX_IDENTIFIER, identifier);
    }
    try {
      const { insertId: uid } = await insert(db, 'INSERT INTO users (identifier) VALUES (?)', [identifier], t);
      await insert(db, 'INSERT INTO users_info (uid, attr_type, attr_data) VALUES (?, ?, ?)', [uid, attrType, attrData], t);
      return uid;
    } catch (err) {
      // Without a transaction a users row may be left behind: harmless, as in Buildbot.
      if (!isUniqueViolation(err)) throw err;
    }
  }
  throw new Error(`could not find or create the user ${attrType}:${attrData}`);
}
