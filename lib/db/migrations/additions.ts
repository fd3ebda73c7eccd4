import { ADDED_COLUMNS as COLUMNS_002 } from './002_logchunk_timestamps/index.js';
import { ADDED_INDEXES as INDEXES_003, ADDED_TABLES as TABLES_003 } from './003_pushes/index.js';
import { ADDED_TABLES as TABLES_004 } from './004_history/index.js';
import { ADDED_INDEXES as INDEXES_005, ADDED_TABLES as TABLES_005 } from './005_test_history/index.js';
import { ADDED_TABLES as TABLES_006 } from './006_locks/index.js';
import { ADDED_INDEXES as INDEXES_007, ADDED_TABLES as TABLES_007 } from './007_janitor/index.js';
import { ADDED_INDEXES as INDEXES_008 } from './008_pending_index/index.js';

/**
 * Everything our migrations add to Buildbot 3.7's schema, in one place: the compatibility tests
 * (and tools that export a DB for Buildbot) subtract exactly this and expect Buildbot's schema.
 * The contract (DESIGN.md) allows only extra tables, nullable columns and extra indexes.
 * A migration that adds something registers it here.
 */
/** Our own record of applied migrations, beside Buildbot's alembic_version (which stays at 059). */
export const MIGRATIONS_TABLE = 'buildmaster_migrations';

export const ADDED_TABLES: readonly string[] = [MIGRATIONS_TABLE, ...TABLES_003, ...TABLES_004, ...TABLES_005, ...TABLES_006, ...TABLES_007];

export const ADDED_COLUMNS: Readonly<Record<string, readonly string[]>> = mergeLists(COLUMNS_002);

export const ADDED_INDEXES: Readonly<Record<string, readonly string[]>> = mergeLists(INDEXES_003, INDEXES_005, INDEXES_007, INDEXES_008);

function mergeLists(...parts: Readonly<Record<string, readonly string[]>>[]): Record<string, readonly string[]> {
  const out: Record<string, string[]> = {};
  for (const part of parts) for (const [table, names] of Object.entries(part)) (out[table] ??= []).push(...names);
  return out;
}
