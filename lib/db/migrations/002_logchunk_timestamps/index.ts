import type { DialectName } from '../../dialects.js';
import type { MigrationDef } from '../types.js';

/**
 * Our addition to Buildbot's schema: per-line receive times beside each log chunk's content
 * (lib/logs/timestampCodec.ts), NULL for chunks Buildbot wrote. Nullable and last, so Buildbot
 * still reads and writes logchunks as before. On MySQL a MEDIUMBLOB, like `content` (whose
 * BLOB(65536) MySQL widens to one): a chunk of 64 KiB may hold tens of thousands of lines.
 * Adding a nullable column is instant on sqlite and on MariaDB ≥ 10.3, whatever the table's size.
 *
 * FROZEN once released: change the schema with a new migration.
 */
const DDL: Readonly<Record<DialectName, readonly string[]>> = {
  sqlite: ['ALTER TABLE logchunks ADD COLUMN timestamps BLOB'],
  mysql: ['ALTER TABLE logchunks ADD COLUMN timestamps MEDIUMBLOB NULL'],
};

export const logchunkTimestamps: MigrationDef = {
  name: '002_logchunk_timestamps',
  async up(ctx) {
    for (const statement of DDL[ctx.dialect]) await ctx.execute(statement);
  },
};

/** The nullable columns our migrations add to Buildbot's tables (schema comparisons leave them out). */
export const ADDED_COLUMNS: Readonly<Record<string, readonly string[]>> = { logchunks: ['timestamps'] };
