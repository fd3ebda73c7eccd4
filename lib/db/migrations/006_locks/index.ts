import type { DialectName } from '../../dialects.js';
import type { MigrationDef } from '../types.js';

/**
 * Locks and worker ownership held in the database, so they hold across masters (our addition;
 * Buildbot 3.7 keeps locks in each master's memory). Three new tables:
 *
 * - locks(id, lockkind 'MasterLock'|'WorkerLock', lockname, workerid 0 for a master lock): one row
 *   per lock instance (a WorkerLock has one per worker), created on first use and never deleted.
 *   It exists to be locked: an acquirer locks the rows of the instances it wants (FOR UPDATE on
 *   MySQL; sqlite's IMMEDIATE transaction locks the whole file) before counting their holders.
 * - lock_holders(id, lockid, buildid, stepid NULL = the build's own locks, masterid, mode, count,
 *   acquired_at): who holds what now. A release deletes rows; a dead master's rows go with it.
 * - worker_claims(workerid PK, masterid, claimed_at): the one master that drives a slave host.
 *
 * FROZEN once released: change the schema with a new migration.
 */
const DDL: Readonly<Record<DialectName, readonly string[]>> = {
  sqlite: [
    `CREATE TABLE IF NOT EXISTS locks (
    id INTEGER NOT NULL,
    lockkind VARCHAR(16) NOT NULL,
    lockname VARCHAR(255) NOT NULL,
    workerid INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
  )`,
    'CREATE UNIQUE INDEX IF NOT EXISTS locks_identity ON locks (lockkind, lockname, workerid)',
    `CREATE TABLE IF NOT EXISTS lock_holders (
    id INTEGER NOT NULL,
    lockid INTEGER NOT NULL,
    buildid INTEGER NOT NULL,
    stepid INTEGER,
    masterid INTEGER NOT NULL,
    mode VARCHAR(16) NOT NULL,
    count INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    PRIMARY KEY (id)
  )`,
    'CREATE INDEX IF NOT EXISTS lock_holders_lockid ON lock_holders (lockid)',
    'CREATE INDEX IF NOT EXISTS lock_holders_buildid ON lock_holders (buildid, stepid)',
    'CREATE INDEX IF NOT EXISTS lock_holders_masterid ON lock_holders (masterid)',
    `CREATE TABLE IF NOT EXISTS worker_claims (
    workerid INTEGER NOT NULL,
    masterid INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    PRIMARY KEY (workerid)
  )`,
    'CREATE INDEX IF NOT EXISTS worker_claims_masterid ON worker_claims (masterid)',
  ],
  // MySQL commits each DDL statement at once: indexes go inside CREATE TABLE, so a table appears
  // whole or not at all, and a rerun after a failure skips what exists.
  mysql: [
    `CREATE TABLE IF NOT EXISTS locks (
    id INTEGER NOT NULL AUTO_INCREMENT,
    lockkind VARCHAR(16) NOT NULL,
    lockname VARCHAR(255) NOT NULL,
    workerid INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE INDEX locks_identity (lockkind, lockname, workerid)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS lock_holders (
    id INTEGER NOT NULL AUTO_INCREMENT,
    lockid INTEGER NOT NULL,
    buildid INTEGER NOT NULL,
    stepid INTEGER,
    masterid INTEGER NOT NULL,
    mode VARCHAR(16) NOT NULL,
    count INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    PRIMARY KEY (id),
    INDEX lock_holders_lockid (lockid),
    INDEX lock_holders_buildid (buildid, stepid),
    INDEX lock_holders_masterid (masterid)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS worker_claims (
    workerid INTEGER NOT NULL,
    masterid INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    PRIMARY KEY (workerid),
    INDEX worker_claims_masterid (masterid)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
};

/** The tables this migration adds beside Buildbot's. */
export const ADDED_TABLES: readonly string[] = ['locks', 'lock_holders', 'worker_claims'];

export const locks: MigrationDef = {
  name: '006_locks',
  async up(ctx) {
    for (const statement of DDL[ctx.dialect]) await ctx.execute(statement);
  },
};
