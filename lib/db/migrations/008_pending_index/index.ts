import type { MigrationDef } from '../types.js';

/**
 * Two indexes on Buildbot's buildrequests (our addition), so that a distributor pass reads about as
 * many rows as it hands out, however long the pending queue (lib/db/buildrequests.ts):
 *
 * - buildrequests_pending_order (builderid, complete, priority DESC, submitted_at): a builder's
 *   pending requests in the order they are taken (highest priority, then oldest; the primary key
 *   that ends every index entry breaks ties by id), so `… LIMIT n` stops after n unclaimed rows
 *   instead of sorting all of the builder's pending ones. DESC is honoured by sqlite, MySQL ≥ 8.0
 *   and MariaDB ≥ 10.8 (older MariaDB builds it ascending: still correct, then sorted).
 * - buildrequests_pending_age (builderid, complete, submitted_at): each builder's oldest pending
 *   request by one short index walk (pendingOldestByBuilder).
 *
 * The claimed-but-unfinished rows the walks skip are the running builds, not the queue.
 * FROZEN once released: change the schema with a new migration.
 */
const INDEXES: readonly (readonly [name: string, columns: string])[] = [
  ['buildrequests_pending_order', 'builderid, complete, priority DESC, submitted_at'],
  ['buildrequests_pending_age', 'builderid, complete, submitted_at'],
];

/** The indexes added to Buildbot's buildrequests (schema comparisons leave them out). */
export const ADDED_INDEXES: Readonly<Record<string, readonly string[]>> = {
  buildrequests: INDEXES.map(([name]) => name),
};

export const pendingIndex: MigrationDef = {
  name: '008_pending_index',
  async up(ctx) {
    if (ctx.dialect === 'sqlite') {
      for (const [name, cols] of INDEXES) await ctx.execute(`CREATE INDEX IF NOT EXISTS ${name} ON buildrequests (${cols})`);
      return;
    }
    // MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has): one ALTER adds whichever are missing,
    // all at once, so a rerun after a failure finds all or none.
    const [rows] = await ctx.sequelize.query(
      "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'buildrequests'",
    );
    const have = new Set((rows as { name: string }[]).map((r) => r.name));
    const missing = INDEXES.filter(([name]) => !have.has(name));
    if (missing.length > 0) await ctx.execute(`ALTER TABLE buildrequests ${missing.map(([name, cols]) => `ADD INDEX ${name} (${cols})`).join(', ')}`);
  },
};
