import type { Transaction } from 'sequelize';
import type { Connection as MysqlConnection, ResultSetHeader } from 'mysql2';
import { backoffDelay, sleep } from '../util/backoff.js';
import type { Database } from './connection.js';
import type { DialectName } from './dialects.js';
import { classifyDbError, type RetryableKind } from './retry.js';
import { sqliteDriver, withSql } from './sqliteDriver.js';

/**
 * The few ways the data modules talk SQL. Every statement is written out in the module that owns
 * it, with `?` placeholders (an array value expands to a list, for `IN (?)`), and runs through one
 * of these, which return plain values on both dialects: rows, the new id, or the rows matched.
 *
 * Statements go straight to the driver: on the database's own sqlite connection or a pooled MySQL
 * one (Database.acquire); the transaction's own connection inside `db.transaction`.
 * Sequelize's query pipeline costs several times what sqlite itself spends on a small
 * statement, and a build makes dozens of them.
 */

export type Params = readonly unknown[];

/** Kinds after which a statement is known not to have applied, so running it again is safe. */
const NOT_APPLIED: ReadonlySet<RetryableKind> = new Set(['busy', 'deadlock', 'lockTimeout']);
const MAX_ATTEMPTS = 8;

export interface InsertResult {
  /** The auto-increment id of the (first) row inserted; meaningless when `affectedRows` is 0. */
  insertId: number;
  affectedRows: number;
}
type WriteResult = InsertResult;

/** How each driver runs a statement. */
interface Driver {
  all(conn: unknown, sql: string, params: Params): Promise<unknown[]>;
  run(conn: unknown, sql: string, params: Params): Promise<WriteResult>;
}

const DRIVERS: Readonly<Record<DialectName, Driver>> = {
  sqlite: sqliteDriver,
  mysql: {
    // mysql2 formats `?` client-side, expanding arrays itself.
    all: (conn, sql, params) =>
      new Promise((resolve, reject) =>
        (conn as MysqlConnection).query(sql, params as unknown[], (err, rows) => (err ? reject(withSql(err, sql)) : resolve(rows as unknown[]))),
      ),
    run: (conn, sql, params) =>
      new Promise((resolve, reject) =>
        (conn as MysqlConnection).query(sql, params as unknown[], (err, result) => {
          if (err) return reject(withSql(err, sql));
          const header = result as ResultSetHeader;
          resolve({ insertId: Number(header.insertId), affectedRows: Number(header.affectedRows) });
        }),
      ),
  },
};

/**
 * Runs `fn` on the transaction's connection, or on one the database lends us for a read or a write
 * (Database.acquire), given back afterwards.
 */
async function onConnection<T>(db: Database, t: Transaction | undefined, write: boolean, fn: (conn: unknown, driver: Driver) => Promise<T>): Promise<T> {
  const driver = DRIVERS[db.dialect];
  if (t) return fn((t as unknown as { connection: unknown }).connection, driver);
  const { conn, release } = await db.acquire(write);
  try {
    return await fn(conn, driver);
  } finally {
    await release();
  }
}

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
  return run(t, true, () => onConnection(db, t, false, (conn, driver) => driver.all(conn, sql, params))) as Promise<T[]>;
}

/** The first row of a SELECT, or undefined. */
export async function selectOne<T>(db: Database, sql: string, params: Params = [], t?: Transaction): Promise<T | undefined> {
  const rows = await select<T>(db, sql, params, t);
  return rows[0];
}

function write(db: Database, sql: string, params: Params, t: Transaction | undefined, idempotent: boolean): Promise<WriteResult> {
  return run(t, idempotent, () => onConnection(db, t, true, (conn, driver) => driver.run(conn, sql, params)));
}

/**
 * An INSERT. Retried only when it certainly did not apply. For a multi-row INSERT, insertId is
 * the first row's on MySQL and the last row's on sqlite: ask for the ids instead.
 */
export function insert(db: Database, sql: string, params: Params = [], t?: Transaction): Promise<InsertResult> {
  return write(db, sql, params, t, false);
}

/**
 * An UPDATE; returns the rows it MATCHED on both dialects (the MySQL connection sets FOUND_ROWS),
 * which is what a conditional update's "did I win" test needs. `idempotent` (default true) says
 * the statement may run twice after a lost connection.
 */
export async function update(db: Database, sql: string, params: Params = [], t?: Transaction, idempotent = true): Promise<number> {
  return (await write(db, sql, params, t, idempotent)).affectedRows;
}

/** A DELETE; returns the rows deleted. */
export async function remove(db: Database, sql: string, params: Params = [], t?: Transaction): Promise<number> {
  return (await write(db, sql, params, t, true)).affectedRows;
}

/**
 * `INSERT … VALUES …` or `INSERT … SELECT … WHERE …` (sqlite needs the WHERE to parse the
 * conflict clause) that skips rows whose unique key already exists instead of failing; the
 * result's affectedRows counts the rows really inserted. Only uniqueness is ignored: sqlite's
 * `ON CONFLICT DO NOTHING` covers nothing else; MySQL's `INSERT IGNORE` also turns a missing
 * foreign-key parent into a skipped row, which callers treat the same as "someone else's row".
 * `body` is everything after `INSERT INTO `.
 */
export function insertIgnoringDuplicates(db: Database, body: string, params: Params, t?: Transaction): Promise<InsertResult> {
  const sql = db.caps.upsert === 'onConflict' ? `INSERT INTO ${body} ON CONFLICT DO NOTHING` : `INSERT IGNORE INTO ${body}`;
  return insert(db, sql, params, t);
}

/** True when `err` (a driver's error, or Sequelize's wrapping one) is a unique-key violation. */
export function isUniqueViolation(err: unknown): boolean {
  type E = { name?: string; code?: unknown; message?: unknown; parent?: E };
  for (let e = err as E | undefined, depth = 0; e && depth < 3; e = e.parent, depth++) {
    if (e.name === 'SequelizeUniqueConstraintError' || e.code === 'ER_DUP_ENTRY') return true;
    if (typeof e.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT') && /UNIQUE/i.test(String(e.message))) return true;
  }
  return false;
}

/** `(?, ?, …), (?, ?, …)`: `rows` copies of `row`, a tuple or the number of `?` in one. */
export function valuesList(rows: number, row: number | string): string {
  const one = typeof row === 'string' ? row : `(${new Array(row).fill('?').join(', ')})`;
  return new Array(rows).fill(one).join(', ');
}

/** Splits `items` into batches that keep a statement under the dialect's bound-parameter limit. */
export function batches<T>(db: Database, items: readonly T[], paramsPerItem = 1): T[][] {
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
