import type { DialectName } from '../../dialects.js';
import type { MigrationDef } from '../types.js';

/**
 * History for trending (our addition, read by lib/history): failure signatures and where they
 * occurred, their per-day counts, known-issue rules and the labels people give, duration summaries
 * of finished builds and steps, and duration-regression alerts. New tables only: Buildbot ignores them.
 *
 * - failure_signatures: one row per normalised error line (hash = sha1 of the normalised text,
 *   unique), with first/last seen (build, revision, time), a total count and the label it carries.
 *   first_buildid/last_buildid are plain numbers, not foreign keys: they stay meaningful (as "build
 *   N, since deleted") after the janitor removes old builds.
 * - failure_occurrences: one row per error line of a step (raw text, line, test), with the build's
 *   builder/worker/branch/revision copied in so no query joins back to builds.
 * - failure_steps: one row per step already recorded; its primary key is what makes
 *   recordStepFailures idempotent (a retried call inserts nothing).
 * - failure_counts: occurrences per (signature, day, builder, worker, branch, test), bumped in the
 *   same transaction as the occurrences; "none" is stored as 0 / '' so the unique key dedupes.
 * - known_issues: rules (regex or signature hash, optionally limited to builders) from the config or
 *   the API; failure_classifications: who labelled what, the log suggestions learn from.
 * - build_durations / step_durations: one row per finished build / step, indexed by (builder|worker|
 *   branch [, step name], time): trend queries read ranges of these instead of joining builds to
 *   sourcestamps. The indexes end with (results, duration) so those queries never leave the index
 *   (a year of one builder's steps: 80 ms reading rows, a few ms without).
 * - regression_alerts: a Perfherder-style windowed t-test found a change (stepname '' = the build).
 *
 * FROZEN once released: change the schema with a new migration.
 */
const COMMON = {
  sqlite: { id: 'INTEGER NOT NULL', real: 'REAL', opts: '' },
  mysql: { id: 'INTEGER NOT NULL AUTO_INCREMENT', real: 'DOUBLE', opts: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin' },
} as const;

interface TableDef {
  name: string;
  columns: string;
  /** [name, columns, unique?] */
  indexes: readonly (readonly [string, string, boolean?])[];
}

function tables(d: DialectName): TableDef[] {
  const { id, real } = COMMON[d];
  return [
    {
      name: 'failure_signatures',
      columns: `id ${id},
    hash VARCHAR(40) NOT NULL,
    signature TEXT NOT NULL,
    example TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    first_buildid INTEGER NOT NULL,
    first_revision VARCHAR(256),
    last_seen INTEGER NOT NULL,
    last_buildid INTEGER NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 0,
    known_issueid INTEGER,
    classified_by VARCHAR(255),
    classified_at INTEGER,
    PRIMARY KEY (id)`,
      indexes: [
        ['failure_signatures_hash', 'hash', true],
        ['failure_signatures_last_seen', 'last_seen'],
        ['failure_signatures_first_buildid', 'first_buildid'],
        ['failure_signatures_known_issueid', 'known_issueid'],
      ],
    },
    {
      name: 'failure_occurrences',
      columns: `id ${id},
    signatureid INTEGER NOT NULL,
    buildid INTEGER NOT NULL,
    stepid INTEGER NOT NULL,
    logid INTEGER,
    line INTEGER NOT NULL,
    text TEXT NOT NULL,
    test VARCHAR(255),
    builderid INTEGER NOT NULL,
    workerid INTEGER,
    branch VARCHAR(255),
    revision VARCHAR(256),
    at INTEGER NOT NULL,
    known_issueid INTEGER,
    classified_by VARCHAR(255),
    PRIMARY KEY (id),
    FOREIGN KEY(signatureid) REFERENCES failure_signatures (id) ON DELETE CASCADE`,
      indexes: [
        ['failure_occurrences_signatureid', 'signatureid, at'],
        ['failure_occurrences_buildid', 'buildid'],
        ['failure_occurrences_stepid', 'stepid'],
      ],
    },
    {
      name: 'failure_steps',
      columns: `stepid INTEGER NOT NULL,
    buildid INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (stepid)`,
      indexes: [['failure_steps_buildid', 'buildid']],
    },
    {
      name: 'failure_counts',
      columns: `signatureid INTEGER NOT NULL,
    day INTEGER NOT NULL,
    builderid INTEGER NOT NULL,
    workerid INTEGER NOT NULL DEFAULT 0,
    branch VARCHAR(255) NOT NULL DEFAULT '',
    test VARCHAR(255) NOT NULL DEFAULT '',
    count INTEGER NOT NULL,
    FOREIGN KEY(signatureid) REFERENCES failure_signatures (id) ON DELETE CASCADE`,
      indexes: [
        ['failure_counts_key', 'signatureid, day, builderid, workerid, branch, test', true],
        ['failure_counts_day', 'day'],
        ['failure_counts_builderid', 'builderid, day'],
        ['failure_counts_workerid', 'workerid, day'],
        ['failure_counts_branch', 'branch, day'],
      ],
    },
    {
      name: 'known_issues',
      columns: `id ${id},
    title VARCHAR(255) NOT NULL,
    url VARCHAR(1024),
    pattern TEXT,
    signature_hash VARCHAR(40),
    builders TEXT,
    source VARCHAR(16) NOT NULL,
    active SMALLINT NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    created_by VARCHAR(255),
    PRIMARY KEY (id)`,
      indexes: [],
    },
    {
      name: 'failure_classifications',
      columns: `id ${id},
    signatureid INTEGER NOT NULL,
    occurrenceid INTEGER,
    known_issueid INTEGER,
    classified_by VARCHAR(255) NOT NULL,
    classified_at INTEGER NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(signatureid) REFERENCES failure_signatures (id) ON DELETE CASCADE`,
      indexes: [['failure_classifications_signatureid', 'signatureid']],
    },
    {
      name: 'build_durations',
      columns: `buildid INTEGER NOT NULL,
    builderid INTEGER NOT NULL,
    workerid INTEGER,
    branch VARCHAR(255),
    started_at INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    results INTEGER,
    PRIMARY KEY (buildid)`,
      indexes: [
        ['build_durations_builderid', 'builderid, started_at, results, duration'],
        ['build_durations_workerid', 'workerid, started_at, results, duration'],
        ['build_durations_branch', 'branch, started_at, results, duration'],
        ['build_durations_started_at', 'started_at, results, duration'],
      ],
    },
    {
      name: 'step_durations',
      columns: `stepid INTEGER NOT NULL,
    buildid INTEGER NOT NULL,
    builderid INTEGER NOT NULL,
    workerid INTEGER,
    branch VARCHAR(255),
    name VARCHAR(50) NOT NULL,
    started_at INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    results INTEGER,
    PRIMARY KEY (stepid)`,
      indexes: [
        ['step_durations_builderid', 'builderid, name, started_at, results, duration'],
        ['step_durations_workerid', 'workerid, name, started_at, results, duration'],
        ['step_durations_branch', 'branch, name, started_at, results, duration'],
        ['step_durations_buildid', 'buildid'],
      ],
    },
    {
      name: 'regression_alerts',
      columns: `id ${id},
    builderid INTEGER NOT NULL,
    stepname VARCHAR(50) NOT NULL DEFAULT '',
    buildid INTEGER NOT NULL,
    prev_buildid INTEGER,
    t ${real} NOT NULL,
    old_mean ${real} NOT NULL,
    new_mean ${real} NOT NULL,
    percent ${real} NOT NULL,
    status VARCHAR(16) NOT NULL DEFAULT 'untriaged',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id)`,
      indexes: [
        ['regression_alerts_key', 'builderid, stepname, buildid', true],
        ['regression_alerts_created_at', 'created_at'],
      ],
    },
  ];
}

function ddl(d: DialectName): string[] {
  const out: string[] = [];
  for (const t of tables(d)) {
    if (d === 'sqlite') {
      out.push(`CREATE TABLE IF NOT EXISTS ${t.name} (\n    ${t.columns}\n  )`);
      for (const [name, cols, unique] of t.indexes) out.push(`CREATE ${unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${name} ON ${t.name} (${cols})`);
    } else {
      // MySQL commits each DDL statement at once: indexes go inside CREATE TABLE, so a table
      // appears whole or not at all, and a rerun after a failure skips what exists.
      const idx = t.indexes.map(([name, cols, unique]) => `,\n    ${unique ? 'UNIQUE ' : ''}INDEX ${name} (${cols})`).join('');
      out.push(`CREATE TABLE IF NOT EXISTS ${t.name} (\n    ${t.columns}${idx}\n  )${COMMON.mysql.opts}`);
    }
  }
  return out;
}

/** The tables this migration adds beside Buildbot's. */
export const ADDED_TABLES: readonly string[] = tables('sqlite').map((t) => t.name);

export const history: MigrationDef = {
  name: '004_history',
  async up(ctx) {
    for (const statement of ddl(ctx.dialect)) await ctx.execute(statement);
  },
};
