import type { DialectName } from '../../dialects.js';
import type { MigrationDef } from '../types.js';
import { MYSQL_DDL } from './mysql.js';
import { SQLITE_DDL } from './sqlite.js';

/** Buildbot 3.7's 38 tables (alembic_version aside). A Buildbot-made DB must have every one. */
export const BUILDBOT_3_7_TABLES: readonly string[] = [
  'buildrequests', 'buildrequest_claims', 'build_properties', 'build_data', 'builds', 'steps', 'logs',
  'logchunks', 'buildset_properties', 'buildsets', 'changesources', 'changesource_masters', 'workers',
  'configured_workers', 'connected_workers', 'change_files', 'change_properties', 'change_users', 'changes',
  'patches', 'sourcestamps', 'buildset_sourcestamps', 'schedulers', 'scheduler_masters', 'scheduler_changes',
  'builders', 'builder_masters', 'tags', 'builders_tags', 'test_result_sets', 'test_results', 'test_names',
  'test_code_paths', 'objects', 'object_state', 'users', 'users_info', 'masters',
];

/** The only alembic revision of Buildbot 3.7, kept stamped in alembic_version. */
export const BUILDBOT_3_7_ALEMBIC_REVISION = '059';

const DDL: Readonly<Record<DialectName, readonly string[]>> = { sqlite: SQLITE_DDL, mysql: MYSQL_DDL };

/** Creates exactly the schema `buildbot create-master` (3.7) creates, stamped alembic 059. */
export const buildbot37Schema: MigrationDef = {
  name: '001_buildbot_3_7_schema',
  async up(ctx) {
    for (const statement of DDL[ctx.dialect]) await ctx.execute(statement);
  },
};
