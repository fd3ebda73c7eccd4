import { buildbot37Schema } from './001_buildbot_3_7_schema/index.js';
import { logchunkTimestamps } from './002_logchunk_timestamps/index.js';
import { pushes } from './003_pushes/index.js';
import { history } from './004_history/index.js';
import { testHistory } from './005_test_history/index.js';
import { locks } from './006_locks/index.js';
import { janitor } from './007_janitor/index.js';
import { pendingIndex } from './008_pending_index/index.js';
import type { MigrationDef } from './types.js';

export type { MigrationContext, MigrationDef } from './types.js';
export { BUILDBOT_3_7_ALEMBIC_REVISION, BUILDBOT_3_7_TABLES } from './001_buildbot_3_7_schema/index.js';

/**
 * Every migration, in order. Listed by hand rather than globbed so the same list works under tsx
 * (.ts files) and compiled in dist/ (.js files). Add new ones at the end; never reorder or edit.
 */
export const MIGRATIONS: readonly MigrationDef[] = [buildbot37Schema, logchunkTimestamps, pushes, history, testHistory, locks, janitor, pendingIndex];
