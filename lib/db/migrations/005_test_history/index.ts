import type { DialectName } from '../../dialects.js';
import type { MigrationContext, MigrationDef } from '../types.js';

/**
 * A test's history across builds (our addition, read by lib/history/testResults and
 * lib/history/intermittents.ts). Results stay in Buildbot's test_result_sets / test_results /
 * test_names, stored as Buildbot stores them; this adds only what asking by test needs:
 *
 * - test_names_by_name on test_names(name): "this test on every builder" (Buildbot's own index
 *   leads with builderid). On MySQL a 255-character prefix, like Buildbot's test_names_name.
 * - sqlite only, test_results(test_nameid): "this test's results, newest first". MySQL already
 *   indexes that foreign-key column (a second index there would drift from Buildbot's schema).
 *   The janitor's 007 adds test_results(test_result_setid) and test_result_sets(buildid) on sqlite.
 * - intermittent_tests: the current intermittent mark of a test of a builder (one row per
 *   test_nameid, replaced on every evaluation, deleted when the test is steady again): why
 *   ('same_revision': failed and passed on one revision; 'pass_rate': its fail rate over the last
 *   runs lies between the thresholds), over how many runs, how many failed, the rate, and the
 *   revision that both failed and passed. last_buildid is a plain number (no foreign key), as in 004.
 *
 * FROZEN once released: change the schema with a new migration.
 */
const INTERMITTENT_COLUMNS = {
  sqlite: { id: 'INTEGER NOT NULL', real: 'REAL' },
  mysql: { id: 'INTEGER NOT NULL AUTO_INCREMENT', real: 'DOUBLE' },
} as const;

function intermittentTable(d: DialectName, inlineIndexes: string): string {
  const { id, real } = INTERMITTENT_COLUMNS[d];
  return `CREATE TABLE IF NOT EXISTS intermittent_tests (
    id ${id},
    builderid INTEGER NOT NULL,
    test_nameid INTEGER NOT NULL,
    reason VARCHAR(32) NOT NULL,
    runs INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    fail_rate ${real} NOT NULL,
    revision VARCHAR(256),
    first_marked_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_buildid INTEGER,
    PRIMARY KEY (id),${inlineIndexes}
    FOREIGN KEY(builderid) REFERENCES builders (id) ON DELETE CASCADE,
    FOREIGN KEY(test_nameid) REFERENCES test_names (id) ON DELETE CASCADE
  )`;
}

const DDL: Readonly<Record<DialectName, readonly string[]>> = {
  sqlite: [
    'CREATE INDEX IF NOT EXISTS test_names_by_name ON test_names (name)',
    'CREATE INDEX IF NOT EXISTS test_results_test_nameid ON test_results (test_nameid)',
    intermittentTable('sqlite', ''),
    'CREATE UNIQUE INDEX IF NOT EXISTS intermittent_tests_test_nameid ON intermittent_tests (test_nameid)',
    'CREATE INDEX IF NOT EXISTS intermittent_tests_builderid ON intermittent_tests (builderid, updated_at)',
  ],
  // MySQL commits each DDL statement at once: the table carries its indexes, so it appears whole
  // or not at all; the index on test_names is created only when missing (see up), so a rerun
  // after a failure skips what exists.
  mysql: [
    `${intermittentTable(
      'mysql',
      `
    UNIQUE INDEX intermittent_tests_test_nameid (test_nameid),
    INDEX intermittent_tests_builderid (builderid, updated_at),`,
    )} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
};

async function mysqlIndexExists(ctx: MigrationContext, table: string, index: string): Promise<boolean> {
  const rows = (await ctx.sequelize.query(
    'SELECT 1 FROM INFORMATION_SCHEMA.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1',
    { replacements: [table, index], type: 'SELECT' as never },
  )) as unknown[];
  return rows.length > 0;
}

/** The tables this migration adds beside Buildbot's. */
export const ADDED_TABLES: readonly string[] = ['intermittent_tests'];

/** The indexes added to Buildbot's tables (schema comparisons leave them out). */
export const ADDED_INDEXES: Readonly<Record<string, readonly string[]>> = {
  test_names: ['test_names_by_name'],
  test_results: ['test_results_test_nameid'],
};

export const testHistory: MigrationDef = {
  name: '005_test_history',
  async up(ctx) {
    if (ctx.dialect === 'mysql' && !(await mysqlIndexExists(ctx, 'test_names', 'test_names_by_name'))) {
      await ctx.execute('CREATE INDEX test_names_by_name ON test_names (name(255))');
    }
    for (const statement of DDL[ctx.dialect]) await ctx.execute(statement);
  },
};
