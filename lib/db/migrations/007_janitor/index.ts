import type { DialectName } from '../../dialects.js';
import type { MigrationDef } from '../types.js';

/**
 * The janitor (garbage collection, lib/db/janitor.ts), our addition:
 *
 * - janitor_lease(id = 1, masterid, expires_at, last_run_at, cursors): one row; the master holding an
 *   unexpired lease is the only one collecting. Taken by a conditional UPDATE (race-safe on both
 *   dialects), renewed while a run lasts, released with last_run_at when it ends; a dead holder's
 *   lease expires and another master takes it over. masterid NULL: `buildmaster cleanupdb`. cursors (JSON) remembers how far
 *   the horizons that keep their rows (logs, build data, test results) already got.
 * - sqlite only, indexes the janitor's child-before-parent deletes need (MySQL already indexes
 *   every foreign-key column, and a second index there would drift from Buildbot's schema):
 *   sourcestamps(patchid), test_result_sets(buildid), test_results(test_result_setid),
 *   buildsets(parent_buildid), changes(parent_changeids).
 *
 * FROZEN once released: change the schema with a new migration.
 */
const LEASE_COLUMNS = `id INTEGER NOT NULL,
    masterid INTEGER,
    expires_at INTEGER NOT NULL,
    last_run_at INTEGER NOT NULL,
    cursors VARCHAR(1024) NOT NULL DEFAULT '{}',
    PRIMARY KEY (id)`;

const SQLITE_INDEXES: Readonly<Record<string, readonly [name: string, columns: string]>> = {
  sourcestamps: ['sourcestamps_patchid', 'patchid'],
  test_result_sets: ['test_result_sets_buildid', 'buildid'],
  test_results: ['test_results_test_result_setid', 'test_result_setid'],
  buildsets: ['buildsets_parent_buildid', 'parent_buildid'],
  changes: ['changes_parent_changeids', 'parent_changeids'],
};

const DDL: Readonly<Record<DialectName, readonly string[]>> = {
  sqlite: [
    `CREATE TABLE IF NOT EXISTS janitor_lease (
    ${LEASE_COLUMNS}
  )`,
    ...Object.entries(SQLITE_INDEXES).map(([table, [name, cols]]) => `CREATE INDEX IF NOT EXISTS ${name} ON ${table} (${cols})`),
  ],
  mysql: [
    `CREATE TABLE IF NOT EXISTS janitor_lease (
    ${LEASE_COLUMNS}
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
};

/** The tables this migration adds beside Buildbot's. */
export const ADDED_TABLES: readonly string[] = ['janitor_lease'];

/** The indexes added to Buildbot's tables (sqlite only; schema comparisons leave them out). */
export const ADDED_INDEXES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(SQLITE_INDEXES).map(([table, [name]]) => [table, [name]]),
);

export const janitor: MigrationDef = {
  name: '007_janitor',
  async up(ctx) {
    for (const statement of DDL[ctx.dialect]) await ctx.execute(statement);
  },
};
