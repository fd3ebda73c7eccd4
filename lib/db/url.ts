import path from 'node:path';
import { BuildmasterError } from '../errors/index.js';

/** Buildbot's default: a sqlite file named state.sqlite in the master directory. */
export const DEFAULT_DB_URL = 'sqlite:///state.sqlite';

export interface SqliteTarget {
  readonly dialect: 'sqlite';
  /** Absolute path of the database file. */
  readonly path: string;
}

export interface MysqlTarget {
  readonly dialect: 'mysql';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** From `?unix_socket=/path`: connect through a socket instead of host:port. */
  readonly socketPath?: string;
  /** From `?max_idle=SECONDS` (Buildbot's name): idle pooled connections are closed after this. */
  readonly maxIdleSeconds?: number;
  /** From `?pool_size=N`: the most connections this master opens at once. */
  readonly poolSize?: number;
}

export type DbTarget = SqliteTarget | MysqlTarget;

/**
 * Query parameters we accept. Buildbot's own (`max_idle`, `storage_engine`, `charset`,
 * `use_unicode`, `serialize_access`) are accepted so a Buildbot `db_url` works unchanged; those
 * that make no sense here are ignored (we always use InnoDB and utf8mb4).
 */
const IGNORED_PARAMS: Record<DbTarget['dialect'], readonly string[]> = {
  sqlite: ['serialize_access'],
  mysql: ['storage_engine', 'charset', 'use_unicode'],
};
const MYSQL_PARAMS = ['max_idle', 'unix_socket', 'pool_size'];

function badUrl(url: string, why: string): BuildmasterError {
  return new BuildmasterError(`invalid database URL ${redactUrl(url)}: ${why}`, { userError: true });
}

/**
 * Parses a Buildbot-style database URL. `sqlite:///state.sqlite` is relative to `basedir`
 * (three slashes, as in Buildbot/SQLAlchemy), `sqlite:////abs/path.sqlite` is absolute;
 * `mysql://user:pass@host:port/db` (also `mysql+mysqldb://`, `mariadb://`) selects MySQL/MariaDB.
 */
export function parseDbUrl(url: string, basedir: string): DbTarget {
  const match = /^([a-z][a-z0-9]*)(?:\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(url.trim());
  if (!match) throw badUrl(url, 'expected sqlite:///FILE or mysql://USER:PASSWORD@HOST/DATABASE');
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  if (scheme === 'sqlite') return parseSqlite(url, rest, basedir);
  if (scheme === 'mysql' || scheme === 'mariadb') return parseMysql(url);
  throw badUrl(url, `unsupported database "${scheme}" (use sqlite or mysql)`);
}

function splitQuery(url: string, rest: string, dialect: DbTarget['dialect']): [string, URLSearchParams] {
  const q = rest.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const known = [...IGNORED_PARAMS[dialect], ...(dialect === 'mysql' ? MYSQL_PARAMS : [])];
  for (const key of params.keys()) {
    if (!known.includes(key)) {
      throw badUrl(url, `unknown option "${key}" (known: ${known.join(', ')})`);
    }
  }
  return [q < 0 ? rest : rest.slice(0, q), params];
}

function parseSqlite(url: string, rest: string, basedir: string): SqliteTarget {
  const [location] = splitQuery(url, rest, 'sqlite');
  if (location === '' || location === '/') {
    throw badUrl(url, 'in-memory sqlite is not supported; use a file such as sqlite:///state.sqlite');
  }
  if (!location.startsWith('/')) {
    throw badUrl(url, 'sqlite URLs have no host: write sqlite:///relative/file or sqlite:////absolute/file');
  }
  const file = decodeURIComponent(location.slice(1));
  return { dialect: 'sqlite', path: path.resolve(basedir, file) };
}

function parseMysql(url: string): MysqlTarget {
  let parsed: URL;
  try {
    // WHATWG URL parses any scheme with an authority; normalise it so `mysql+driver` is accepted.
    parsed = new URL(url.trim().replace(/^[a-z0-9+]+:/i, 'mysql:'));
  } catch {
    throw badUrl(url, 'expected mysql://USER:PASSWORD@HOST:PORT/DATABASE');
  }
  splitQuery(url, parsed.search, 'mysql');
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) throw badUrl(url, 'the database name is missing');
  if (!parsed.username) throw badUrl(url, 'the user name is missing');
  const params = parsed.searchParams;
  const port = parsed.port ? Number(parsed.port) : 3306;
  return {
    dialect: 'mysql',
    host: parsed.hostname || '127.0.0.1',
    port,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    ...(params.has('unix_socket') ? { socketPath: params.get('unix_socket')! } : {}),
    ...(params.has('max_idle') ? { maxIdleSeconds: positiveInt(url, 'max_idle', params.get('max_idle')!) } : {}),
    ...(params.has('pool_size') ? { poolSize: positiveInt(url, 'pool_size', params.get('pool_size')!) } : {}),
  };
}

function positiveInt(url: string, key: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw badUrl(url, `${key} must be a positive integer, not "${value}"`);
  return n;
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([^:]+:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

/** A short human description of where the database is, without secrets. */
export function describeTarget(target: DbTarget): string {
  if (target.dialect === 'sqlite') return `sqlite ${target.path}`;
  const where = target.socketPath ?? `${target.host}:${target.port}`;
  return `mysql ${target.user}@${where}/${target.database}`;
}
