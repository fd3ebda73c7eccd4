import { backoffDelay, sleep as realSleep } from '../util/backoff.js';
import type { Logger } from '../util/log.js';

/**
 * Why a database error is worth another try. Everything not listed here (constraint violations,
 * syntax errors, a wrong password…) is a real answer and must propagate at once.
 *  - busy:        sqlite SQLITE_BUSY / SQLITE_LOCKED — another connection held the lock past the busy timeout
 *  - deadlock:    MySQL 1213 — InnoDB rolled the transaction back to break a deadlock
 *  - lockTimeout: MySQL 1205 — a row lock wait exceeded innodb_lock_wait_timeout
 *  - connection:  the connection dropped or the server restarts; a new connection may succeed
 */
export type RetryableKind = 'busy' | 'deadlock' | 'lockTimeout' | 'connection';

const BY_CODE: Readonly<Record<string, RetryableKind>> = {
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  ER_LOCK_DEADLOCK: 'deadlock',
  ER_LOCK_WAIT_TIMEOUT: 'lockTimeout',
  ECONNRESET: 'connection',
  ECONNREFUSED: 'connection',
  EPIPE: 'connection',
  PROTOCOL_CONNECTION_LOST: 'connection',
  ER_SERVER_SHUTDOWN: 'connection',
  ER_CONNECTION_KILLED: 'connection',
  ETIMEDOUT: 'connection',
  EHOSTUNREACH: 'connection',
  ENETUNREACH: 'connection',
  ER_CON_COUNT_ERROR: 'connection', // too many connections: the server is there but full
  PROTOCOL_SEQUENCE_TIMEOUT: 'connection',
};

/**
 * Sequelize's own connection errors (a pool that cannot connect, or waited too long for a
 * connection) may carry no driver code at all. Not its generic SequelizeConnectionError, which
 * also wraps permanent failures (an unknown database); its driver code decides.
 */
const CONNECTION_ERROR_NAMES: ReadonlySet<string> = new Set([
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotReachableError',
  'SequelizeHostNotFoundError',
  'SequelizeConnectionAcquireTimeoutError',
]);

const BY_MYSQL_ERRNO: Readonly<Record<number, RetryableKind>> = {
  1213: 'deadlock',
  1205: 'lockTimeout',
  1053: 'connection', // server shutdown in progress
  1927: 'connection', // connection was killed
  1040: 'connection', // too many connections
};

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  parent?: unknown;
  original?: unknown;
  cause?: unknown;
}

/**
 * Classifies an error by its code, looking through Sequelize's wrappers (`parent`, `original`)
 * and `cause` to the driver's error. Returns null when the error must not be retried.
 */
export function classifyDbError(err: unknown): RetryableKind | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { code, errno, message, parent, original, cause } = e as ErrorLike;
    if (typeof code === 'string') {
      // sqlite3 reports extended codes such as SQLITE_BUSY_SNAPSHOT under the base code.
      const base = code.startsWith('SQLITE_') ? code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1') : code;
      if (BY_CODE[base]) return BY_CODE[base]!;
    }
    // mysql2 sets errno to the server's error number; sqlite3 uses small errno values of its own.
    if (typeof errno === 'number' && typeof code === 'string' && code.startsWith('ER_') && BY_MYSQL_ERRNO[errno]) {
      return BY_MYSQL_ERRNO[errno]!;
    }
    if (code === undefined && typeof message === 'string' && /^SQLITE_(BUSY|LOCKED)\b/.test(message)) return 'busy';
    // mysql2 marks connection-level failures `fatal`; some (a query on a connection the server just
    // killed: "Can't add new command when connection is in closed state") carry no code at all.
    if ((e as { fatal?: unknown }).fatal === true) return 'connection';
    if (CONNECTION_ERROR_NAMES.has(String((e as { name?: unknown }).name))) return 'connection';
    queue.push(parent, original, cause);
  }
  return null;
}

/** The database could not be reached at all (as opposed to a lock or a deadlock): an outage. */
export function isConnectionError(err: unknown): boolean {
  return classifyDbError(err) === 'connection';
}

export function isRetryableDbError(err: unknown): boolean {
  return classifyDbError(err) !== null;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 8). */
  maxAttempts?: number;
  /** Backoff ceiling for the first retry, doubling after (default 50 ms). */
  baseMs?: number;
  /** Largest wait between attempts (default 2 s). */
  maxMs?: number;
  logger?: Logger;
  /** What is being retried, for the log. */
  what?: string;
  signal?: AbortSignal;
  /** Injected in tests to avoid real waiting. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `fn` and retries it while it fails with a retryable database error, waiting a capped,
 * jittered, growing delay between attempts. Other errors, and the last retryable one, propagate.
 * `fn` must be safe to run again: a whole transaction is, a lone autocommit INSERT that may have
 * committed before the connection dropped is not.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 8;
  const wait = options.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const kind = classifyDbError(err);
      if (kind === null || attempt + 1 >= maxAttempts || options.signal?.aborted) throw err;
      const delayMs = backoffDelay(attempt, options.baseMs ?? 50, options.maxMs ?? 2_000);
      options.logger?.warn(
        { event: 'db.retry', kind, attempt: attempt + 1, delayMs, what: options.what, err: (err as Error).message },
        'retrying after a transient database error',
      );
      await wait(delayMs, options.signal);
    }
  }
}
