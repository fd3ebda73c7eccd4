import { QueryTypes, type Transaction } from 'sequelize';
import { backoffDelay, sleep } from '../util/backoff.js';
import type { Database } from './connection.js';
import { classifyDbError, type RetryableKind } from './retry.js';

/**
 * The few ways the data modules talk SQL. Every statement is written out in the module that owns
 * it, with `?` placeholders (an array value expands to a list, for `IN (?)`), and runs through one
 * of these, which return plain values on both dialects: rows, the new id, or the rows matched.
 *
 * Table names stay unquoted in FROM: Sequelize's sqlite driver reads `PRAGMA table_info` before
 * every SELECT that names a backquoted table, which would double the cost of each read.
 */

export type Params = readonly unknown[];

/** Kinds after which a statement is known not to have applied, so running it again is safe. */
const NOT_APPLIED: ReadonlySet<RetryableKind> = new Set(['busy', 'deadlock', 'lockTimeout']);
const MAX_ATTEMPTS = 8;

/**
 * Runs one statement, retrying transient errors. Inside a transaction nothing is retried here: the
 * error rolls the transaction back and `Database.transaction` runs it again as a whole. A lost
 * connection leaves an autocommit write's outcome unknown, so only `idempotent` statements are
 * retried after one.
 */
async function run<T>(t: Transaction | undefined, idempotent: boolean, fn: () => Promise<T>): Promise<T> {
  if (t) return fn();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const kind = classifyDbError(err);
      const retryable = kind !== null && (idempotent || NOT_APPLIED.has(kind));
      if (!retryable || attempt + 1 >= MAX_ATTEMPTS) throw err;
      await sleep(backoffDelay(attempt, 20, 1_000));
    }
  }
}

/** Rows of a SELECT. */
export function select<T>(db: Database, sql: string, params: Params = [], t?: Transaction): Promise<T[]> {
  return run(t, true, () =>
    db.sequelize.query(sql, { type: QueryTypes.SELECT, replacements: params as unknown[], transaction: t }),
  ) as Promise<T[]>;
}

/** The first row of a SELECT, or undefined. */
export async function selectOne<T>(db: Database, sql: string, params: Params = [], t?: Transaction): Promise<T | undefined> {
  const rows = await select<T>(db, sql, params, t);
  return rows[0];
}

export interface InsertResult {
  /** The auto-increment id of the (first) row inserted; meaningless when `affectedRows` is 0. */
  insertId: number;
  affectedRows: number;
}

/** An INSERT. Retried only when it certainly did not apply. */
export async function insert(db: Database, sql: string, params: Params = [], t?: Transaction): Promise<InsertResult> {
  const [insertId, affectedRows] = (await run(t, false, () =>
    db.sequelize.query(sql, { type: QueryTypes.INSERT, replacements: params as unknown[], transaction: t }),
  )) as unknown as [number, number];
  return { insertId: Number(insertId), affectedRows: Number(affectedRows) };
}

/**
 * An UPDATE; returns the rows it MATCHED on both dialects (the MySQL connection sets FOUND_ROWS),
 * which is what a conditional update's "did I win" test needs. `idempotent` (default true) says
 * the statement may run twice after a lost connection.
 */
export async function update(db: Database, sql: string, params: Params = [], t?: Transaction, idempotent = true): Promise<number> {
  const [, affected] = (await run(t, idempotent, () =>
    db.sequelize.query(sql, { type: QueryTypes.UPDATE, replacements: params as unknown[], transaction: t }),
  )) as unknown as [unknown, number];
  return Number(affected);
}

/** A DELETE; returns the rows deleted. */
export async function remove(db: Database, sql: string, params: Params = [], t?: Transaction): Promise<number> {
  const affected = await run(t, true, () =>
    db.sequelize.query(sql, { type: QueryTypes.BULKDELETE, replacements: params as unknown[], transaction: t }),
  );
  return Number(affected ?? 0);
}

/**
 * `INSERT … VALUES …` that skips rows whose unique key already exists instead of failing; the
 * result's affectedRows counts the rows really inserted. Only uniqueness is ignored: sqlite's
 * `ON CONFLICT DO NOTHING` covers nothing else; MySQL's `INSERT IGNORE` also turns a missing
 * foreign-key parent into a skipped row, which callers treat the same as "someone else's row".
 * `body` is everything after `INSERT INTO `.
 */
export function insertIgnoringDuplicates(db: Database, body: string, params: Params, t?: Transaction): Promise<InsertResult> {
  const sql = db.caps.upsert === 'onConflict' ? `INSERT INTO ${body} ON CONFLICT DO NOTHING` : `INSERT IGNORE INTO ${body}`;
  return insert(db, sql, params, t);
}

/** True when `err` is a unique-key violation (on either dialect). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { name?: string; parent?: { code?: string; message?: string } } | null;
  if (!e) return false;
  if (e.name === 'SequelizeUniqueConstraintError') return true;
  const code = e.parent?.code;
  if (code === 'ER_DUP_ENTRY') return true;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT') && /UNIQUE/i.test(e.parent?.message ?? '');
}

/** `(?, ?, …), (?, ?, …)`: `rows` copies of `row`, a tuple or the number of `?` in one. */
export function valuesList(rows: number, row: number | string): string {
  const one = typeof row === 'string' ? row : `(${new Array(row).fill('?').join(', ')})`;
  return new Array(rows).fill(one).join(', ');
}

/** Splits `items` into batches that keep a statement under the dialect's bound-parameter limit. */
export function batches<T>(db: Database, items: readonly T[], paramsPerItem = 1): T[][] {
  // Replacements are inlined by Sequelize, but a bound limit also keeps statements a sane size.
  const size = Math.max(1, Math.min(500, Math.floor(db.caps.maxBindParams / paramsPerItem) - 10));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Epoch seconds now, as Buildbot stores times. */
export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The distinct values of `ids`, in first-seen order. */
export function distinct(ids: readonly number[]): number[] {
  return [...new Set(ids)];
}
