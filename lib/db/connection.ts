import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import sqlite3 from 'sqlite3';
import type { Options, Sequelize, Transaction } from 'sequelize';
import { BuildmasterError } from '../errors/index.js';
import { silentLogger, type Logger } from '../util/log.js';
import { BASE_CAPS, mysqlCapsForVersion, type DialectCaps, type DialectName } from './dialects.js';
import { defineModels, type Models } from './model/index.js';
import { Mutex } from './mutex.js';
import { finalizeStatements, ownConnection, sqliteExec } from './sqliteDriver.js';
import { withRetry } from './retry.js';
import { describeTarget, parseDbUrl, type DbTarget, type MysqlTarget, type SqliteTarget } from './url.js';

const require = createRequire(import.meta.url);

/**
 * Sequelize, loaded when first needed. On sqlite a running master never needs it: its statements go
 * through lib/db/query.ts on connections of our own. Migrations, the models and transactions that
 * are not driverOnly load it (its module graph is about 30 MiB of a master's memory).
 */
function sequelizeModule(): typeof import('sequelize') {
  return require('sequelize') as typeof import('sequelize');
}

/** Every sqlite connection waits this long for another one's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * An open transaction, as code outside lib/db sees it: a handle to pass back into lib/db functions.
 * (The Sequelize type stays behind this name, so nothing else imports Sequelize.)
 */
export type DbTransaction = Transaction;
const MYSQL_POOL_SIZE = 10;

export interface OpenDatabaseOptions {
  url: string;
  basedir: string;
  logger?: Logger;
  /** sqlite only: how long a connection waits for another's lock (default SQLITE_BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
}

export interface TransactionOptions {
  /**
   * Re-run `fn` on a retryable error (SQLITE_BUSY, deadlock, lock wait timeout, lost connection),
   * which has rolled the whole transaction back. Default true, so `fn` must only have database
   * side effects; pass false when it has others.
   */
  retry?: boolean;
  /**
   * `fn` runs its statements only through lib/db/query.ts (no Sequelize call takes the
   * transaction), as the data modules do. On sqlite the transaction then runs on our write
   * connection, kept open, instead of one Sequelize opens, configures and closes (and whose first
   * statement re-reads the schema) for every transaction: most of what a small write transaction
   * costs. Elsewhere it changes nothing.
   */
  driverOnly?: boolean;
}

/**
 * Marks the async context of a `Database.transaction` callback while it runs. Work it merely
 * started (a timer, a listener) inherits the context but sees `running` false once it has ended.
 */
const insideTransaction = new AsyncLocalStorage<{ db: Database; running: boolean }>();

/** How the database reaches its server: Sequelize for MySQL; our own connections for sqlite. */
export type Backend =
  | { kind: 'sequelize'; sequelize: Sequelize }
  | {
      kind: 'sqlite';
      /** The connection reads run on (writes have one of their own, see acquire). */
      connection: sqlite3.Database;
      /** Opens another connection configured the same way. */
      open: () => Promise<sqlite3.Database>;
      /** Creates the Sequelize instance when something first asks for it. */
      sequelize: () => Sequelize;
    };

interface ConnectionManager {
  getConnection(options?: object): Promise<unknown>;
  releaseConnection(conn: unknown): void | Promise<void>;
}

/**
 * An open database. `sequelize` and `models` are for the modules in lib/db only; everything else
 * calls those modules. On sqlite both are created at first use.
 */
export class Database {
  readonly dialect: DialectName;
  readonly sqlitePath?: string;
  private readonly writeLock = new Mutex();
  /** No new work is accepted (close() was called). */
  private closed = false;
  /** The write connection is closed: set under the write lock, after the writes admitted before. */
  private writesClosed = false;
  private _sequelize: Sequelize | undefined;
  private _models: Models | undefined;
  /** sqlite: the connection for writes and driverOnly transactions, opened at the first. */
  private txConnection: Promise<sqlite3.Database> | undefined;

  constructor(
    private readonly backend: Backend,
    readonly target: DbTarget,
    readonly caps: DialectCaps,
    readonly logger: Logger,
  ) {
    this.dialect = target.dialect;
    if (target.dialect === 'sqlite') this.sqlitePath = target.path;
    if (backend.kind === 'sequelize') this._sequelize = backend.sequelize;
  }

  get sequelize(): Sequelize {
    if (!this._sequelize) {
      if (this.backend.kind !== 'sqlite' || this.closed) throw new BuildmasterError('the database is closed');
      this._sequelize = this.backend.sequelize();
    }
    return this._sequelize;
  }

  get models(): Models {
    this._models ??= defineModels(this.sequelize);
    return this._models;
  }

  /**
   * A connection for one autocommit statement, and how to give it back (lib/db/query.ts): one from
   * the MySQL pool; on sqlite, for a read the shared read connection (WAL: never blocked by a
   * writer), for a write the write connection under the write lock. Our writes thus queue here,
   * one at a time, behind any transaction, instead of waiting out sqlite's lock in its busy
   * handler — which holds a libuv thread and the connection, and stalls every statement queued
   * behind it for the handler's sleeps.
   */
  async acquire(write: boolean): Promise<{ conn: unknown; release: () => void | Promise<void> }> {
    if (this.backend.kind === 'sqlite') {
      if (this.closed) throw new BuildmasterError('the database is closed');
      if (!write || !this.caps.singleWriter) return { conn: this.backend.connection, release: noop };
      const inside = insideTransaction.getStore();
      if (inside?.db === this && inside.running) {
        // It would wait forever for the write lock its own transaction holds.
        throw new BuildmasterError('a write inside db.transaction() without the transaction: pass `t`');
      }
      const release = await this.writeLock.lock();
      try {
        return { conn: await this.writeConnection(), release };
      } catch (err) {
        release();
        throw err;
      }
    }
    const manager = (this.sequelize as unknown as { connectionManager: ConnectionManager }).connectionManager;
    const conn = await manager.getConnection({});
    return { conn, release: () => manager.releaseConnection(conn) };
  }

  /** Where the database is, without secrets (for messages). */
  get description(): string {
    return describeTarget(this.target);
  }

  /**
   * Runs `fn` in a transaction that commits when it resolves and rolls back when it throws.
   * On sqlite the transaction is IMMEDIATE (it takes the write lock at BEGIN, so it never fails
   * halfway on a lock upgrade) and waits its turn behind this process's other write transactions.
   * Pass `t` to every query inside: a query without it runs outside the transaction.
   */
  async transaction<T>(fn: (t: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const outer = insideTransaction.getStore();
    if (outer?.db === this && outer.running) {
      // On sqlite this would wait forever for the mutex its own caller holds.
      throw new BuildmasterError('db.transaction() called inside another transaction: pass the outer transaction instead');
    }
    // Our own connection serves one transaction at a time: only under the single-writer lock.
    const own = options.driverOnly === true && this.backend.kind === 'sqlite' && this.caps.singleWriter;
    const once = () => {
      const run = () =>
        own
          ? this.ownTransaction(fn)
          : this.sequelize.transaction(this.caps.immediateTransactions ? { type: sequelizeModule().Transaction.TYPES.IMMEDIATE } : {}, (t) => {
              const scope = { db: this, running: true };
              return insideTransaction.run(scope, () => fn(t)).finally(() => (scope.running = false));
            });
      return this.caps.singleWriter ? this.writeLock.run(run) : run();
    };
    if (options.retry === false) return once();
    return withRetry(once, { logger: this.logger, what: 'transaction' });
  }

  /** sqlite: the connection our writes and driverOnly transactions use (under writeLock), opened at first use. */
  private async writeConnection(): Promise<sqlite3.Database> {
    if (this.writesClosed || this.backend.kind !== 'sqlite') throw new BuildmasterError('the database is closed');
    this.txConnection ??= this.backend.open();
    try {
      return await this.txConnection;
    } catch (err) {
      this.txConnection = undefined;
      throw err;
    }
  }

  /**
   * A sqlite write transaction on our own connection (run under writeLock: one at a time). `fn`
   * gets what lib/db/query.ts needs of a transaction, its connection.
   */
  private async ownTransaction<T>(fn: (t: Transaction) => Promise<T>): Promise<T> {
    const conn = await this.writeConnection();
    const exec = (sql: string) => sqliteExec(conn, sql);
    await exec(this.caps.immediateTransactions ? 'BEGIN IMMEDIATE' : 'BEGIN');
    const t = { connection: conn } as unknown as Transaction;
    const scope = { db: this, running: true };
    let result: T;
    try {
      result = await insideTransaction.run(scope, () => fn(t)).finally(() => (scope.running = false));
    } catch (err) {
      await exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
    try {
      await exec('COMMIT');
    } catch (err) {
      // A COMMIT that failed (SQLITE_BUSY, I/O) leaves the transaction open: end it.
      await exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return result;
  }

  /** Closes every connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.backend.kind === 'sqlite') {
      // Under the write lock: the transaction running and the writes already waiting finish first.
      await this.writeLock.run(async () => {
        this.writesClosed = true;
        const conn = await this.txConnection?.catch(() => undefined);
        this.txConnection = undefined;
        if (conn) await closeSqlite(conn);
      });
    }
    await this._sequelize?.close();
    if (this.backend.kind === 'sqlite') await closeSqlite(this.backend.connection);
  }
}

function noop(): void {}

/** Closes a sqlite connection once the statements queued on it have run. */
async function closeSqlite(conn: sqlite3.Database): Promise<void> {
  await finalizeStatements(conn);
  await new Promise<void>((resolve) => conn.close(() => resolve()));
}

/**
 * node-sqlite3's Database class with our settings applied on every open. Sequelize's sqlite dialect
 * opens a fresh connection for each transaction and runs no afterConnect hook, so this constructor is
 * the one place that sees them all.
 */
function sqliteModule(busyTimeoutMs: number): typeof sqlite3 {
  class ConfiguredDatabase extends sqlite3.Database {
    constructor(filename: string, mode: number, callback: (err: Error | null) => void) {
      let self: ConfiguredDatabase | undefined;
      const configure = (err: Error | null) => {
        if (err || !self) return callback(err);
        self.configure('busyTimeout', busyTimeoutMs);
        // WAL lets readers run beside a writer. It persists in the file; asking again is a no-op.
        // synchronous=NORMAL is the documented pairing with WAL: commits skip an fsync each (about 4x
        // faster here), the file can never be corrupted, and a power cut (not a crash of the master)
        // may lose only the last commits.
        self.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL', (e) => callback(e));
      };
      super(filename, mode, (err) => configure(err));
      self = this;
    }
  }
  return { ...sqlite3, Database: ConfiguredDatabase } as typeof sqlite3;
}

const COMMON_OPTIONS: Options = {
  logging: false,
  // Sequelize would retry SQLITE_BUSY itself, 5 times per statement; lib/db/retry.ts decides instead.
  retry: { max: 1 },
};

function sqliteSequelize(target: SqliteTarget, busyTimeoutMs: number): Sequelize {
  const { Sequelize } = sequelizeModule();
  return new Sequelize({
    ...COMMON_OPTIONS,
    dialect: 'sqlite',
    storage: target.path,
    dialectModule: sqliteModule(busyTimeoutMs),
    // Buildbot runs sqlite with foreign keys off (and deletes children itself); so do we.
    foreignKeys: false,
  } as Options);
}

function mysqlSequelize(target: MysqlTarget): Sequelize {
  const { Sequelize } = sequelizeModule();
  return new Sequelize({
    ...COMMON_OPTIONS,
    dialect: 'mysql',
    host: target.host,
    port: target.port,
    username: target.user,
    password: target.password,
    database: target.database,
    dialectOptions: {
      charset: 'utf8mb4',
      // Sequelize turns FOUND_ROWS off, so an UPDATE reports only the rows it changed. Buildbot (and
      // sqlite) report the rows matched; "did my conditional UPDATE hit" must read the same on both.
      flags: 'FOUND_ROWS',
      // A server that does not answer counts as an outage (lib/db/outage.ts) within this, not the OS's minutes.
      connectTimeout: 10_000,
      ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    },
    // After an outage the pool heals by itself: Sequelize's validate() drops connections mysql2
    // marked fatal (the server closed them) when they are next borrowed, and a connection refused
    // fails the borrow at once (not after `acquire`), as a connection error the callers retry.
    pool: {
      max: target.poolSize ?? MYSQL_POOL_SIZE,
      min: 0,
      idle: (target.maxIdleSeconds ?? 10) * 1000,
      acquire: 30_000,
      evict: 1_000,
    },
  });
}

/** A sqlite connection with our settings, creating the file's directory as Sequelize would. */
function openSqliteConnection(module: typeof sqlite3, path: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      return reject(err);
    }
    const conn: sqlite3.Database = new module.Database(path, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (err) => (err ? reject(err) : resolve(conn)));
    ownConnection(conn);
  });
}

function openFailed(target: DbTarget, err: unknown): BuildmasterError {
  const cause = (err as { parent?: Error }).parent ?? (err as Error);
  return new BuildmasterError(`cannot open the database (${describeTarget(target)}): ${cause.message}`, {
    userError: true,
    cause: err,
  });
}

/** Opens the database named by `url` (relative sqlite paths are relative to `basedir`). */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const target = parseDbUrl(opts.url, opts.basedir);
  const logger = (opts.logger ?? silentLogger()).child({ component: 'db' });
  let backend: Backend;
  let caps: DialectCaps;
  if (target.dialect === 'sqlite') {
    const busyTimeoutMs = opts.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS;
    const module = sqliteModule(busyTimeoutMs);
    const open = () => openSqliteConnection(module, target.path);
    let connection: sqlite3.Database | undefined;
    try {
      // Connect now, so a wrong path fails here with a clear message, not at first use.
      connection = await open();
      const conn = connection;
      await new Promise<void>((resolve, reject) => conn.get('SELECT sqlite_version()', (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      if (connection) await closeSqlite(connection);
      throw openFailed(target, err);
    }
    backend = { kind: 'sqlite', connection, open, sequelize: () => sqliteSequelize(target, busyTimeoutMs) };
    caps = BASE_CAPS.sqlite;
  } else {
    const sequelize = mysqlSequelize(target);
    try {
      // Connect now, so a wrong password fails here with a clear message, not at first use.
      const [rows] = await sequelize.query('SELECT VERSION() AS version');
      caps = mysqlCapsForVersion(String((rows as { version: string }[])[0]?.version ?? ''));
    } catch (err) {
      await sequelize.close().catch(() => undefined);
      throw openFailed(target, err);
    }
    backend = { kind: 'sequelize', sequelize };
  }
  logger.debug({ event: 'db.opened', where: describeTarget(target), caps }, 'database opened');
  return new Database(backend, target, caps, logger);
}
