/**
 * What each database can do, as data. Code asks `db.caps.skipLocked`, never `dialect === 'mysql'`,
 * so a new backend (or a new server version) is a new row here rather than a hunt through queries.
 */
export type DialectName = 'sqlite' | 'mysql';

export interface DialectCaps {
  /** `SELECT … FOR UPDATE SKIP LOCKED` (MariaDB ≥ 10.6, MySQL ≥ 8.0.1). */
  readonly skipLocked: boolean;
  /** `SELECT … FOR UPDATE` takes row locks. sqlite locks the whole file instead. */
  readonly rowLocks: boolean;
  /** `INSERT … RETURNING` (sqlite ≥ 3.35, MariaDB ≥ 10.5; not MySQL). */
  readonly returning: boolean;
  /**
   * Write transactions must start with `BEGIN IMMEDIATE`: a deferred one that reads and then
   * writes gets SQLITE_BUSY however long the busy timeout is.
   */
  readonly immediateTransactions: boolean;
  /**
   * One writer at a time per database file: write transactions in this process are serialized
   * with a mutex, because each waiting sqlite connection blocks a libuv thread and enough of them
   * starve the lock holder of a thread to COMMIT on.
   */
  readonly singleWriter: boolean;
  /** Most bound parameters in one statement: chunk `IN (…)` lists and multi-row inserts below it. */
  readonly maxBindParams: number;
  /** CREATE/ALTER run inside a transaction and roll back with it (MySQL commits DDL at once). */
  readonly transactionalDdl: boolean;
  /** `VACUUM` (compacting the file, Buildbot's `cleanupdb`) and `VACUUM INTO` for backups. */
  readonly supportsVacuum: boolean;
  /** The database is one local file that can be backed up before a migration. */
  readonly fileBackup: boolean;
  /** Foreign keys are enforced (and cascade). Buildbot leaves them off on sqlite; so do we. */
  readonly enforcesForeignKeys: boolean;
  /** How to write an upsert. */
  readonly upsert: 'onConflict' | 'onDuplicateKey';
  /** TEXT columns can be indexed only by a prefix of this many characters (null: no limit). */
  readonly textIndexPrefix: number | null;
  /** Appended to CREATE TABLE: storage engine and character set where the server has a choice. */
  readonly tableOptions: string;
  /** A SELECT of the database's own tables, one `name` per row. */
  readonly listTablesQuery: string;
}

const SQLITE: DialectCaps = {
  skipLocked: false,
  rowLocks: false,
  returning: true,
  immediateTransactions: true,
  singleWriter: true,
  maxBindParams: 32_766,
  transactionalDdl: true,
  supportsVacuum: true,
  fileBackup: true,
  enforcesForeignKeys: false,
  upsert: 'onConflict',
  textIndexPrefix: null,
  tableOptions: '',
  listTablesQuery: "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence'",
};

/** MySQL/MariaDB before the server version is known (the oldest servers we accept). */
const MYSQL: DialectCaps = {
  skipLocked: false,
  rowLocks: true,
  returning: false,
  immediateTransactions: false,
  singleWriter: false,
  maxBindParams: 65_535,
  transactionalDdl: false,
  supportsVacuum: false,
  fileBackup: false,
  enforcesForeignKeys: true,
  upsert: 'onDuplicateKey',
  textIndexPrefix: 255,
  // utf8mb4 stores all of UTF-8 (Buildbot's utf8 does not); binary collation compares like sqlite.
  tableOptions: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  listTablesQuery: "SELECT TABLE_NAME AS name FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA = DATABASE()",
};

export const BASE_CAPS: Readonly<Record<DialectName, DialectCaps>> = { sqlite: SQLITE, mysql: MYSQL };

/** Version-dependent features, as (product, minimum version) rows. */
const SERVER_FEATURES: readonly { feature: 'skipLocked' | 'returning'; product: 'mariadb' | 'mysql'; since: string }[] = [
  { feature: 'skipLocked', product: 'mariadb', since: '10.6.0' },
  { feature: 'skipLocked', product: 'mysql', since: '8.0.1' },
  { feature: 'returning', product: 'mariadb', since: '10.5.0' },
];

function versionAtLeast(version: string, since: string): boolean {
  const a = version.split('.').map((x) => parseInt(x, 10) || 0);
  const b = since.split('.').map((x) => parseInt(x, 10));
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!;
  }
  return true;
}

/**
 * The capabilities of a MySQL-family server from its `SELECT VERSION()` string,
 * e.g. `10.11.19-MariaDB-0+deb12u1` or `8.0.36`.
 */
export function mysqlCapsForVersion(versionString: string): DialectCaps {
  const product = /mariadb/i.test(versionString) ? 'mariadb' : 'mysql';
  const version = /^(\d+\.\d+\.\d+)/.exec(versionString)?.[1] ?? '0.0.0';
  const caps: { -readonly [K in keyof DialectCaps]: DialectCaps[K] } = { ...MYSQL };
  for (const row of SERVER_FEATURES) {
    if (row.product === product && versionAtLeast(version, row.since)) caps[row.feature] = true;
  }
  return caps;
}
