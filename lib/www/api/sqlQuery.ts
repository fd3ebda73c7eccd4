/**
 * Pushes what it can of a ResultSpec into one SELECT, as Buildbot's ResultSpec.applyToSQLQuery:
 * filters and order on fields that map to a column become WHERE and ORDER BY; when all of them
 * do, LIMIT/OFFSET go in too and meta.total comes from a COUNT over the same WHERE. Whatever does
 * not map stays in the spec for applySpec (and then the page is cut in memory as well).
 *
 * The statements run through lib/db/query.ts. (The SQL text is assembled here from the resource
 * declarations, Buildbot's fieldMapping; it belongs in lib/db once that folder takes an api module.)
 */
import type { Database } from '../../db/connection.js';
import { select, selectOne } from '../../db/query.js';
import { cachedCount } from './countCache.js';
import type { Filter, ResultSpec } from './resultSpec.js';

export interface SqlSource {
  /** The FROM clause body: a table and its joins. */
  from: string;
  /** The select list. */
  select: string;
  /** API field → SQL expression (Buildbot's fieldMapping); fields absent here are done in memory. */
  columns: Readonly<Record<string, string>>;
  /**
   * For a big table whose ids only grow: its id column and the fields that never change once a
   * row exists. A total whose conditions are all on those is counted through countCache.
   */
  counting?: { table: string; id: string; stable: readonly string[] };
  /**
   * A unique column put last in an `order=` that does not name it, so ties (equal priorities, say)
   * come in id order, as Buildbot's do, and pages do not overlap. Only where no index must carry
   * the order (a tie-break column can stop an index from serving ORDER BY).
   */
  tiebreak?: string;
}

/** A WHERE condition the endpoint adds (from the path), with its parameters. */
export interface Condition {
  sql: string;
  params: unknown[];
  /** On columns that never change once the row exists (see SqlSource.counting). */
  stable?: boolean;
}

export function cond(sql: string, ...params: unknown[]): Condition {
  return { sql, params };
}

/** A condition on columns that never change once the row exists. */
export function stableCond(sql: string, ...params: unknown[]): Condition {
  return { sql, params, stable: true };
}

const COMPARISONS: Readonly<Record<string, string>> = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' };

function param(v: unknown): unknown {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/** The condition for one filter on column expression `col`. */
function filterCondition(col: string, f: Filter): Condition {
  const vals = f.values.map(param);
  if (f.op === 'contains') {
    // INSTR is case-sensitive on both dialects here (sqlite; MySQL with our binary collation), like Python's `in`.
    return { sql: `(${vals.map(() => `INSTR(${col}, ?) > 0`).join(' OR ')})`, params: vals.map(String) };
  }
  if (vals.length === 1 && COMPARISONS[f.op]) return { sql: `${col} ${COMPARISONS[f.op]} ?`, params: vals };
  const negate = f.op === 'ne' || f.op === 'notin';
  return { sql: `${col} ${negate ? 'NOT IN' : 'IN'} (?)`, params: [vals] };
}

function whereClause(conds: readonly Condition[]): { sql: string; params: unknown[] } {
  if (conds.length === 0) return { sql: '', params: [] };
  return { sql: ` WHERE ${conds.map((c) => c.sql).join(' AND ')}`, params: conds.flatMap((c) => c.params) };
}

export interface SqlPage<Row> {
  rows: Row[];
  /** Set when the page was cut in SQL: the rows matching before paging. */
  total?: number;
}

/**
 * Rows of `src` matching `where` and the spec's SQL-mappable filters. Takes from `spec` what it did.
 * `defaultOrder` (an SQL ORDER BY body) applies when the spec has no order.
 */
export async function selectPage<Row>(db: Database, src: SqlSource, spec: ResultSpec, where: readonly Condition[] = [], defaultOrder?: string): Promise<SqlPage<Row>> {
  const conds = [...where];
  const unmatched: Filter[] = [];
  for (const f of spec.filters) {
    const col = src.columns[f.field];
    if (col) conds.push({ ...filterCondition(col, f), stable: src.counting?.stable.includes(f.field) === true });
    else unmatched.push(f);
  }
  const order = spec.order ?? [];
  const orderSql = order.map((o) => {
    const desc = o.startsWith('-');
    const col = src.columns[desc ? o.slice(1) : o];
    return col ? `${col}${desc ? ' DESC' : ''}` : undefined;
  });
  const w = whereClause(conds);
  const tie = src.tiebreak && !orderSql.some((o) => o === src.tiebreak || o === `${src.tiebreak} DESC`) ? [src.tiebreak] : [];
  const sqlOrder = orderSql.length > 0 && orderSql.every((o) => o !== undefined) ? [...orderSql, ...tie].join(', ') : defaultOrder;
  const base = `SELECT ${src.select} FROM ${src.from}${w.sql}${sqlOrder ? ` ORDER BY ${sqlOrder}` : ''}`;
  if (unmatched.length > 0 || orderSql.some((o) => o === undefined)) {
    // Some of it must be done in memory: fetch every matching row (as Buildbot does).
    spec.filters = unmatched;
    return { rows: await select<Row>(db, base, w.params) };
  }
  spec.filters = [];
  spec.order = undefined;
  const { limit, offset } = spec.takePaging();
  if (limit === undefined && offset === undefined) return { rows: await select<Row>(db, base, w.params) };
  // MySQL and sqlite both need a LIMIT to take an OFFSET; -1 / a huge one means "no limit".
  const rows = await select<Row>(db, `${base} LIMIT ? OFFSET ?`, [...w.params, limit ?? Number.MAX_SAFE_INTEGER, offset ?? 0]);
  // A page that is not full tells the total without counting (when it is not past the end).
  const start = offset ?? 0;
  if (limit !== undefined && rows.length < limit && (rows.length > 0 || start === 0)) return { rows, total: start + rows.length };
  const cacheable = src.counting !== undefined && conds.every((c) => c.stable === true);
  const total = cacheable ? await cachedCount(db, src.counting!.table, src.counting!.id, w.sql, w.params) : await countRows(db, src.from, w);
  return { rows, total };
}

async function countRows(db: Database, from: string, w: { sql: string; params: unknown[] }): Promise<number> {
  const row = await selectOne<{ n: number | string }>(db, `SELECT COUNT(*) AS n FROM ${from}${w.sql}`, w.params);
  return Number(row?.n ?? 0);
}

/** Rows `SELECT {cols} FROM {table} WHERE {key} IN (ids)`, grouped by the key (for a page's details). */
export async function selectByIds<Row extends Record<string, unknown>>(db: Database, sql: string, ids: readonly number[], key: keyof Row): Promise<Map<number, Row[]>> {
  const out = new Map<number, Row[]>();
  if (ids.length === 0) return out;
  for (let i = 0; i < ids.length; i += 500) {
    for (const r of await select<Row>(db, sql, [ids.slice(i, i + 500)])) {
      const k = Number(r[key]);
      let list = out.get(k);
      if (!list) out.set(k, (list = []));
      list.push(r);
    }
  }
  return out;
}
