import type { DialectName } from '../../dialects.js';
import type { MigrationDef } from '../types.js';

/**
 * The pushlog (our addition): changes that arrived together — one poll's new commits on one branch,
 * one hook payload, one sendchange — form a push, kept in order. Two new tables, so Buildbot's own
 * tables stay exactly Buildbot's; Buildbot ignores them.
 *
 * - pushes(id, repository, branch NULL = default branch, author, pushed_at epoch s, source: git, hg,
 *   base, github …), indexed for "the last N pushes of (repository, branch)" and "… of a branch":
 *   both indexes end, implicitly, with the primary key, so `ORDER BY id DESC LIMIT N` walks the
 *   index backwards. On MySQL (repository, branch) is 512 + 255 utf8mb4 characters = 3068 bytes,
 *   just under InnoDB's 3072-byte key limit: the id cannot be listed explicitly, and needs not be.
 * - push_changes(pushid, changeid UNIQUE, position): a change belongs to at most one push.
 * - an index on buildset_sourcestamps(sourcestampid), on sqlite: "the builds of a change" (and so of
 *   a push) goes change → sourcestamp → buildsets, and Buildbot's sqlite schema has no index that way.
 *   MySQL needs none: InnoDB already indexes the foreign key column (an index named `sourcestampid`,
 *   which a second index would silently replace, drifting from Buildbot's schema).
 *
 * FROZEN once released: change the schema with a new migration.
 */
const DDL: Readonly<Record<DialectName, readonly string[]>> = {
  sqlite: [
    `CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER NOT NULL,
    repository VARCHAR(512) NOT NULL DEFAULT '',
    branch VARCHAR(255),
    author VARCHAR(255) NOT NULL,
    pushed_at INTEGER NOT NULL,
    source VARCHAR(32) NOT NULL,
    PRIMARY KEY (id)
  )`,
    'CREATE INDEX IF NOT EXISTS pushes_repository_branch ON pushes (repository, branch)',
    'CREATE INDEX IF NOT EXISTS pushes_branch ON pushes (branch)',
    `CREATE TABLE IF NOT EXISTS push_changes (
    pushid INTEGER NOT NULL,
    changeid INTEGER NOT NULL,
    position INTEGER NOT NULL,
    FOREIGN KEY(pushid) REFERENCES pushes (id) ON DELETE CASCADE,
    FOREIGN KEY(changeid) REFERENCES changes (changeid) ON DELETE CASCADE
  )`,
    'CREATE UNIQUE INDEX IF NOT EXISTS push_changes_changeid ON push_changes (changeid)',
    'CREATE INDEX IF NOT EXISTS push_changes_pushid ON push_changes (pushid, position)',
    'CREATE INDEX IF NOT EXISTS buildset_sourcestamps_sourcestampid ON buildset_sourcestamps (sourcestampid)',
  ],
  // MySQL commits each DDL statement at once: indexes go inside CREATE TABLE, so a table appears
  // whole or not at all, and a rerun after a failure skips what exists.
  mysql: [
    `CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER NOT NULL AUTO_INCREMENT,
    repository VARCHAR(512) NOT NULL DEFAULT '',
    branch VARCHAR(255),
    author VARCHAR(255) NOT NULL,
    pushed_at INTEGER NOT NULL,
    source VARCHAR(32) NOT NULL,
    PRIMARY KEY (id),
    INDEX pushes_repository_branch (repository, branch),
    INDEX pushes_branch (branch)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS push_changes (
    pushid INTEGER NOT NULL,
    changeid INTEGER NOT NULL,
    position INTEGER NOT NULL,
    UNIQUE INDEX push_changes_changeid (changeid),
    INDEX push_changes_pushid (pushid, position),
    FOREIGN KEY(pushid) REFERENCES pushes (id) ON DELETE CASCADE,
    FOREIGN KEY(changeid) REFERENCES changes (changeid) ON DELETE CASCADE
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
};

/** The index added to Buildbot's buildset_sourcestamps (schema comparisons leave it out). */
export const ADDED_INDEXES: Readonly<Record<string, readonly string[]>> = {
  buildset_sourcestamps: ['buildset_sourcestamps_sourcestampid'],
};

/** The tables this migration adds beside Buildbot's. */
export const ADDED_TABLES: readonly string[] = ['pushes', 'push_changes'];


export const pushes: MigrationDef = {
  name: '003_pushes',
  async up(ctx) {
    for (const statement of DDL[ctx.dialect]) await ctx.execute(statement);
  },
};
