import { createHash } from 'node:crypto';

/**
 * Buildbot's `hashColumns` (db/base.py): sha1 hex of the values joined with NUL, where null or
 * undefined is the single byte 0xF5 (never valid UTF-8, so it cannot collide with a string) and
 * anything else is its string form in UTF-8. Unique keys such as `name_hash` and `ss_hash` are
 * these hashes, so ours must match Buildbot's byte for byte for the two masters to share a DB.
 */
export function hashColumns(...values: readonly unknown[]): string {
  const h = createHash('sha1');
  values.forEach((v, i) => {
    if (i > 0) h.update(NUL);
    h.update(v === null || v === undefined ? NONE : Buffer.from(pythonStr(v), 'utf8'));
  });
  return h.digest('hex');
}

/** The `name_hash` of masters, builders, tags, schedulers and change sources. */
export function nameHash(name: string): string {
  return hashColumns(name);
}

const NUL = Buffer.from([0]);
const NONE = Buffer.from([0xf5]);

/** Python's `str(x)` for the values that reach hashColumns: strings, integers (ids), booleans. */
function pythonStr(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}
