import { existsSync } from 'node:fs';
import type { Transaction } from 'sequelize';
import type { UmzugStorage } from 'umzug';
import { SchemaError } from '../errors/index.js';
import type { Logger } from '../util/log.js';
import type { Database } from './connection.js';
import { select, update } from './query.js';
import {
  BUILDBOT_3_7_ALEMBIC_REVISION,
  BUILDBOT_3_7_TABLES,
  MIGRATIONS,
  type MigrationContext,
  type MigrationDef,
} from './migrations/index.js';

import { MIGRATIONS_TABLE } from './migrations/additions.js';

/** Our own record of applied migrations, beside Buildbot's alembic_version (which stays at 059). */
export { MIGRATIONS_TABLE };

/**
 * - empty:    no tables at all
 * - buildbot: made by Buildbot 3.7 (alembic 059, all its tables, no buildmaster_migrations yet)
 * - behind:   ours, with migrations pending
 * - current:  ours, every migration applied
 * - ahead:    ours, with migrations this code does not know (a newer buildmaster upgraded it)
 * - foreign:  anything else: another Buildbot version, a partial schema, an unrelated database
 */
export type SchemaState = 'empty' | 'buildbot' | 'behind' | 'current' | 'ahead' | 'foreign';

export interface SchemaStatus {
  state: SchemaState;
  applied: string[];
  pending: string[];
  unknown: string[];
  buildbotRevision?: string;
  message: string;
}

export interface UpgradeResult {
  /** Migrations run now, in order. */
  applied: string[];
  /** The consistent copy of the sqlite file taken before anything changed. */
  backupPath?: string;
  /** Nothing needed doing; nothing was touched. */
  upToDate: boolean;
  /** A Buildbot 3.7 database was taken over: its schema counted as migration 001. */
  adoptedBuildbot: boolean;
}

export interface MigrateOptions {
  /** Back up a sqlite file before changing it (default true). */
  backup?: boolean;
  logger?: Logger;
  /** The migrations to consider; only tests pass anything but the real list. */
  migrations?: readonly MigrationDef[];
}

// Plain statements (lib/db/query.ts), so that checking the schema at start loads no Sequelize.
async function listTables(db: Database): Promise<Set<string>> {
  return new Set(await selectColumn(db, db.caps.listTablesQuery, 'name'));
}

async function selectColumn(db: Database, sql: string, column: string): Promise<string[]> {
  const rows = await select<Record<string, unknown>>(db, sql);
  return rows.map((r) => String(r[column]));
}

/** Reads what the database holds and how it relates to the migrations this code knows. */
export async function getSchemaStatus(db: Database, options: Pick<MigrateOptions, 'migrations'> = {}): Promise<SchemaStatus> {
  const known = (options.migrations ?? MIGRATIONS).map((m) => m.name);
  const tables = await listTables(db);
  const alembic = tables.has('alembic_version')
    ? await selectColumn(db, 'SELECT version_num FROM alembic_version', 'version_num')
    : undefined;
  const revision = alembic?.join(', ');
  const base = { applied: [] as string[], pending: known, unknown: [] as string[], ...(revision ? { buildbotRevision: revision } : {}) };
  const upgradeWithBuildbotFirst = 'upgrade it with Buildbot 3.7 (buildbot upgrade-master) first, then run buildmaster upgrade-master';

  if (tables.has(MIGRATIONS_TABLE)) {
    const applied = await selectColumn(db, `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY name`, 'name');
    const unknown = applied.filter((name) => !known.includes(name));
    const pending = known.filter((name) => !applied.includes(name));
    const status = { applied, pending, unknown, ...(revision ? { buildbotRevision: revision } : {}) };
    if (unknown.length > 0) {
      return { ...status, state: 'ahead', message: `this database was upgraded by a newer buildmaster (${unknown.join(', ')}); refusing` };
    }
    if (alembic && revision !== BUILDBOT_3_7_ALEMBIC_REVISION) {
      return { ...status, state: 'foreign', message: `this database was changed by another Buildbot version (alembic revision ${revision}, expected ${BUILDBOT_3_7_ALEMBIC_REVISION}); refusing` };
    }
    if (pending.length > 0) {
      return { ...status, state: 'behind', message: `${pending.length} migration(s) pending: ${pending.join(', ')}` };
    }
    return { ...status, state: 'current', message: `the schema is current (${applied.length} migration(s) applied)` };
  }
  if (alembic) {
    if (revision !== BUILDBOT_3_7_ALEMBIC_REVISION) {
      return { ...base, state: 'foreign', message: `a Buildbot database at alembic revision ${revision || '(none)'}, not Buildbot 3.7's ${BUILDBOT_3_7_ALEMBIC_REVISION}: ${upgradeWithBuildbotFirst}` };
    }
    const missing = BUILDBOT_3_7_TABLES.filter((t) => !tables.has(t));
    if (missing.length > 0) {
      return { ...base, state: 'foreign', message: `a Buildbot 3.7 database (alembic ${revision}) without the tables ${missing.join(', ')}; it is damaged or not Buildbot's` };
    }
    return { ...base, state: 'buildbot', message: `a Buildbot 3.7 database (alembic revision ${revision}); upgrade-master adopts it and keeps its data` };
  }
  if (tables.has('migrate_version') || tables.has('version')) {
    return { ...base, state: 'foreign', message: `a database made by Buildbot older than 3.0 (${tables.has('version') ? 'version' : 'migrate_version'} table): ${upgradeWithBuildbotFirst}` };
  }
  if (tables.size === 0) {
    return { ...base, state: 'empty', message: 'the database is empty; upgrade-master creates the schema' };
  }
  const some = [...tables].sort().slice(0, 5).join(', ');
  return { ...base, state: 'foreign', message: `not a Buildbot or buildmaster database (it has tables ${some}${tables.size > 5 ? ', …' : ''}); refusing to touch it` };
}

/** Throws a SchemaError unless the schema is exactly what this code expects. */
export async function assertSchemaCurrent(db: Database, options: Pick<MigrateOptions, 'migrations'> = {}): Promise<void> {
  const status = await getSchemaStatus(db, options);
  if (status.state === 'current') return;
  if (status.state === 'ahead' || status.state === 'foreign') throw new SchemaError(status.message);
  throw new SchemaError(`the database schema is not current (${status.message}); run \`buildmaster upgrade-master DIR\``);
}

function backupName(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  let candidate = `${path}.bak-${stamp}`;
  for (let n = 1; existsSync(candidate); n++) candidate = `${path}.bak-${stamp}-${n}`;
  return candidate;
}

/** A consistent copy of the live file (a plain copy could catch a half-written WAL). */
async function backupSqlite(db: Database): Promise<string> {
  const target = backupName(db.sqlitePath!, new Date());
  await db.sequelize.query(`VACUUM INTO ${db.sequelize.escape(target)}`);
  return target;
}

async function ensureMigrationsTable(db: Database, t?: Transaction): Promise<void> {
  await db.sequelize.query(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (\n  name VARCHAR(255) NOT NULL,\n  applied_at INTEGER NOT NULL,\n  PRIMARY KEY (name)\n)${db.caps.tableOptions}`,
    { transaction: t },
  );
}

async function recordMigration(db: Database, name: string, t?: Transaction): Promise<void> {
  await db.sequelize.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)`, {
    replacements: [name, Math.floor(Date.now() / 1000)],
    transaction: t,
  });
}

/** Runs one migration and records it: atomically where DDL is transactional. */
async function runMigration(db: Database, migration: MigrationDef): Promise<void> {
  const context = (t?: Transaction): MigrationContext => ({
    dialect: db.dialect,
    caps: db.caps,
    sequelize: db.sequelize,
    transaction: t,
    execute: async (sql) => {
      await db.sequelize.query(sql, { transaction: t });
    },
  });
  if (db.caps.transactionalDdl) {
    await db.transaction(async (t) => {
      await migration.up(context(t));
      await recordMigration(db, migration.name, t);
    }, { retry: false });
  } else {
    await migration.up(context());
    await recordMigration(db, migration.name);
  }
}

/**
 * Brings the database to the current schema: creates it when empty, adopts a Buildbot 3.7
 * database (its schema is migration 001; every row is kept) and applies pending migrations.
 * Refuses, with a SchemaError, a database that is newer than this code or not one we can read.
 * A sqlite file is copied beside itself first (`state.sqlite.bak-<UTC time>`).
 */
export async function upgradeDatabase(db: Database, options: MigrateOptions = {}): Promise<UpgradeResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  const logger = options.logger ?? db.logger;
  const status = await getSchemaStatus(db, { migrations });
  if (status.state === 'ahead' || status.state === 'foreign') throw new SchemaError(status.message);
  if (status.state === 'current') return { applied: [], upToDate: true, adoptedBuildbot: false };

  let backupPath: string | undefined;
  if (db.caps.fileBackup && options.backup !== false && status.state !== 'empty') {
    backupPath = await backupSqlite(db);
    logger.info({ event: 'db.backup', path: backupPath }, 'backed up the database');
  }

  if (status.state === 'empty' && db.dialect === 'sqlite') {
    // Then the janitor can give freed pages back to the filesystem in small steps (PRAGMA
    // incremental_vacuum) instead of only reusing them. The WAL header already exists, so the mode
    // takes effect with a VACUUM: instant on an empty file, hours on a big one (cleanupdb does that).
    await update(db, 'PRAGMA auto_vacuum = INCREMENTAL');
    await update(db, 'VACUUM');
  }

  const adoptedBuildbot = status.state === 'buildbot';
  if (adoptedBuildbot) {
    // Buildbot's schema is exactly what migration 001 creates, so it counts as applied.
    await db.transaction(async (t) => {
      await ensureMigrationsTable(db, t);
      await recordMigration(db, migrations[0]!.name, t);
    }, { retry: false });
    logger.info({ event: 'db.adopt', revision: status.buildbotRevision }, 'adopted a Buildbot 3.7 database');
  } else {
    await ensureMigrationsTable(db);
  }

  const storage: UmzugStorage = {
    executed: async () => selectColumn(db, `SELECT name FROM ${MIGRATIONS_TABLE}`, 'name'),
    // runMigration records each one itself, in the migration's own transaction.
    logMigration: async () => undefined,
    unlogMigration: async () => {
      throw new Error('buildmaster migrations are never reverted');
    },
  };
  // Loaded only here: umzug and its dependencies cost a running master ~13 MiB it never uses.
  const { Umzug } = await import('umzug');
  const umzug = new Umzug({
    migrations: migrations.map((m) => ({ name: m.name, up: () => runMigration(db, m) })),
    storage,
    logger: undefined,
  });
  umzug.on('migrated', ({ name }) => logger.info({ event: 'db.migrated', migration: name }, 'applied migration'));
  let done: { name: string }[];
  try {
    done = await umzug.up();
  } catch (err) {
    // Umzug wraps the migration's error; surface the database's own message.
    const cause = (err as { cause?: Error }).cause ?? (err as Error);
    throw new SchemaError(`database migration failed: ${cause.message}${backupPath ? ` (the backup is ${backupPath})` : ''}`, { cause: err });
  }
  return { applied: done.map((m) => m.name), ...(backupPath ? { backupPath } : {}), upToDate: false, adoptedBuildbot };
}
