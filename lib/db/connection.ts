import { AsyncLocalStorage } from 'node:async_hooks';
import sqlite3 from 'sqlite3';
import { Sequelize, Transaction, type Options } from 'sequelize';
import { BuildmasterError } from '../errors/index.js';
import { silentLogger, type Logger } from '../util/log.js';
import { BASE_CAPS, mysqlCapsForVersion, type DialectCaps, type DialectName } from './dialects.js';
import { defineModels, type Models } from './model/index.js';
import { Mutex } from './mutex.js';
import { withRetry } from './retry.js';
import { describeTarget, parseDbUrl, type DbTarget, type MysqlTarget, type SqliteTarget } from './url.js';

/** Every sqlite connection waits this long for another one's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
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
}

/**
 * Marks the async context of a `Database.transaction` callback while it runs. Work it merely
 * started (a timer, a listener) inherits the context but sees `running` false once it has ended.
 */
const insideTransaction = new AsyncLocalStorage<{ db: Database; running: boolean }>();

/**
 * An open database. `sequelize` and `models` are for the modules in lib/db only; everything else
 * calls those modules.
 */
export class Database {
  readonly dialect: DialectName;
  readonly sqlitePath?: string;
  readonly models: Models;
  private readonly writeLock = new Mutex();
  private closed = false;

  constructor(
    readonly sequelize: Sequelize,
    readonly target: DbTarget,
    readonly caps: DialectCaps,
    readonly logger: Logger,
  ) {
    this.dialect = target.dialect;
    if (target.dialect === 'sqlite') this.sqlitePath = target.path;
    this.models = defineModels(sequelize);
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
    const once = () => {
      const run = () =>
        this.sequelize.transaction(
          this.caps.immediateTransactions ? { type: Transaction.TYPES.IMMEDIATE } : {},
          (t) => {
            const scope = { db: this, running: true };
            return insideTransaction.run(scope, () => fn(t)).finally(() => (scope.running = false));
          },
        );
      return this.caps.singleWriter ? this.writeLock.run(run) : run();
    };
    if (options.retry === false) return once();
    return withRetry(once, { logger: this.logger, what: 'transaction' });
  }

  /** Closes every connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sequelize.close();
  }
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
      ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    },
    pool: {
      max: target.poolSize ?? MYSQL_POOL_SIZE,
      min: 0,
      idle: (target.maxIdleSeconds ?? 10) * 1000,
      acquire: 60_000,
    },
  });
}

/** Opens the database named by `url` (relative sqlite paths are relative to `basedir`). */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const target = parseDbUrl(opts.url, opts.basedir);
  const logger = (opts.logger ?? silentLogger()).child({ component: 'db' });
  const sequelize = target.dialect === 'sqlite'
    ? sqliteSequelize(target, opts.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS)
    : mysqlSequelize(target);
  let caps: DialectCaps;
  try {
    // Connect now, so a wrong path or password fails here with a clear message, not at first use.
    if (target.dialect === 'sqlite') {
      await sequelize.query('SELECT sqlite_version()');
      caps = BASE_CAPS.sqlite;
    } else {
      const [rows] = await sequelize.query('SELECT VERSION() AS version');
      caps = mysqlCapsForVersion(String((rows as { version: string }[])[0]?.version ?? ''));
    }
  } catch (err) {
    await sequelize.close().catch(() => undefined);
    const cause = (err as { parent?: Error }).parent ?? (err as Error);
    throw new BuildmasterError(`cannot open the database (${describeTarget(target)}): ${cause.message}`, {
      userError: true,
      cause: err,
    });
  }
  logger.debug({ event: 'db.opened', where: describeTarget(target), caps }, 'database opened');
  return new Database(sequelize, target, caps, logger);
}
