/**
 * meta.total of large tables without counting them on every request. Buildbot counts exactly
 * (COUNT(*) over the filtered query whenever a limit or offset is given); on 1,000,000 builds that
 * is ~25 ms on sqlite, more on MariaDB. Here the count is split at a row id W:
 *
 *   total = count(where AND id <= W)   cached, refreshed in the background every REFRESH_MS
 *         + count(where AND id >  W)   counted on every request: the rows added since (a PK range)
 *
 * New rows are therefore always counted. Only deletions (the janitor's) and rows committed with an
 * id below W after the refresh (a concurrent MySQL transaction, milliseconds) show up late, by at
 * most REFRESH_MS. Used only when every condition is on columns that never change once a row
 * exists (a build's builder, number, request…; not its results), and only once a plain count has
 * taken more than SLOW_MS: small databases are always counted exactly.
 */
import type { Database } from '../../db/connection.js';
import type { DialectName } from '../../db/dialects.js';
import { selectOne } from '../../db/query.js';

const REFRESH_MS = 10_000;
const SLOW_MS = 3;
const MAX_ENTRIES = 500;

interface Split {
  kind: 'split';
  /** Rows matching with id <= upTo, as of `at`. */
  prefix: number;
  upTo: number;
  at: number;
  refreshing: boolean;
}

/** A count found fast at `at`: counted plainly until it is measured again. */
interface Fast {
  kind: 'fast';
  at: number;
}

type Entry = Split | Fast;

/**
 * How to make a count of `id > W AND …` walk the primary key from W instead of an index on the
 * other condition (which would visit every row of, say, a builder): sqlite keeps rowid ranges
 * under NOT INDEXED. (A dialect capability: belongs in lib/db/dialects.ts.)
 */
const PRIMARY_KEY_ONLY: Readonly<Record<DialectName, string>> = { sqlite: 'NOT INDEXED', mysql: 'FORCE INDEX (PRIMARY)' };

const caches = new WeakMap<Database, Map<string, Entry>>();

function cacheOf(db: Database): Map<string, Entry> {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = new Map()));
  return c;
}

async function prefixCount(db: Database, from: string, id: string, where: string, params: readonly unknown[]): Promise<{ n: number; max: number }> {
  const row = await selectOne<{ n: number | string; m: number | string | null }>(db, `SELECT COUNT(*) AS n, MAX(${id}) AS m FROM ${from}${where}`, params);
  return { n: Number(row?.n ?? 0), max: Number(row?.m ?? 0) };
}

/**
 * The number of rows of `table` matching `where` (a ` WHERE …` clause or ''), `id` being the
 * table's increasing primary key column.
 */
export async function cachedCount(
  db: Database,
  table: string,
  id: string,
  where: string,
  params: readonly unknown[],
  opts: { slowMs?: number; refreshMs?: number } = {},
): Promise<number> {
  const from = table;
  const slowMs = opts.slowMs ?? SLOW_MS;
  const refreshMs = opts.refreshMs ?? REFRESH_MS;
  const cache = cacheOf(db);
  const key = `${from}\u0000${where}\u0000${JSON.stringify(params)}`;
  const entry = cache.get(key);
  if (entry === undefined || entry.kind === 'fast') {
    if (entry && Date.now() - entry.at <= refreshMs) return (await prefixCount(db, from, id, where, params)).n;
    const t0 = performance.now();
    const { n, max } = await prefixCount(db, from, id, where, params);
    const slow = performance.now() - t0 > slowMs;
    remember(cache, key, slow ? { kind: 'split', prefix: n, upTo: max, at: Date.now(), refreshing: false } : { kind: 'fast', at: Date.now() });
    return n;
  }
  if (!entry.refreshing && Date.now() - entry.at > refreshMs) {
    entry.refreshing = true;
    prefixCount(db, from, id, where, params)
      .then(({ n, max }) => Object.assign(entry, { prefix: n, upTo: max, at: Date.now() }))
      .catch(() => undefined)
      .finally(() => (entry.refreshing = false));
  }
  const { prefix, upTo } = entry;
  const tailWhere = where ? `${where} AND ${id} > ?` : ` WHERE ${id} > ?`;
  const tail = await selectOne<{ n: number | string }>(db, `SELECT COUNT(*) AS n FROM ${table} ${PRIMARY_KEY_ONLY[db.dialect]}${tailWhere}`, [...params, upTo]);
  return prefix + Number(tail?.n ?? 0);
}

function remember(cache: Map<string, Entry>, key: string, value: Entry): void {
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}
