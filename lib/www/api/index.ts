/**
 * The data API: Buildbot 3.7's /api/v2 resources, then our extensions under their own paths.
 *
 * To add a resource: write a module (see resources/masters.ts for a small one) exporting an
 * ApiModule — its ResourceType (name, plural, field types) and endpoints (Buildbot-style path
 * patterns, kind 'item' | 'collection' | 'raw', and a get that reads through lib/db, pushing the
 * spec into SQL with selectPage where the fields map to columns) — and list it below, or pass it
 * to mountApi(app, w, [module]) from lib/www/app.ts. The query syntax, envelope, field selection,
 * 400s and 404s come for free; a duplicate path fails at startup.
 */
import type Koa from 'koa';
import type { Database } from '../../db/connection.js';
import type { WwwContext } from '../context.js';
import { Api } from './api.js';
import { F } from './fields.js';
import { alertsModule } from './extensions/history/alerts.js';
import { intermittentsModule } from './extensions/history/intermittents.js';
import { testHistoryModule } from './extensions/history/testHistory.js';
import { knownIssuesModule } from './extensions/history/knownIssues.js';
import { signaturesModule } from './extensions/history/signatures.js';
import { trendsModule } from './extensions/history/trends.js';
import { logLinesModule } from './extensions/logLines.js';
import { pushesModule } from './extensions/pushes.js';
import { buildDataModule } from './resources/buildData.js';
import { buildersModule } from './resources/builders.js';
import { buildrequestsModule } from './resources/buildrequests.js';
import { buildsModule } from './resources/builds.js';
import { buildsetsModule } from './resources/buildsets.js';
import { changesModule } from './resources/changes.js';
import { changesourcesModule } from './resources/changesources.js';
import { forceschedulersModule } from './resources/forceschedulers.js';
import { logchunksModule } from './resources/logchunks.js';
import { logsModule } from './resources/logs.js';
import { mastersModule } from './resources/masters.js';
import { propertiesModule } from './resources/properties.js';
import { schedulersModule } from './resources/schedulers.js';
import { sourcestampsModule } from './resources/sourcestamps.js';
import { stepsModule } from './resources/steps.js';
import { testResultsModule } from './resources/testResults.js';
import { workersModule } from './resources/workers.js';
import type { ApiModule } from './types.js';

export { Api } from './api.js';
export type { ApiModule, ApiRequest, Endpoint, ResourceType } from './types.js';

/** Buildbot's resources, in the order of its data connector (which is the order of the root links). */
export const BUILDBOT_MODULES: readonly ApiModule[] = [
  buildDataModule,
  buildersModule,
  buildsModule,
  buildrequestsModule,
  workersModule,
  stepsModule,
  logsModule,
  logchunksModule,
  buildsetsModule,
  changesModule,
  changesourcesModule,
  mastersModule,
  sourcestampsModule,
  schedulersModule,
  forceschedulersModule,
  propertiesModule,
  testResultsModule,
];

/** Our additions, under paths Buildbot does not have (docs/web.md lists them). */
export const EXTENSION_MODULES: readonly ApiModule[] = [
  pushesModule,
  logLinesModule,
  signaturesModule,
  knownIssuesModule,
  intermittentsModule,
  testHistoryModule,
  alertsModule,
  trendsModule,
];

function rootModule(api: Api): ApiModule {
  return {
    endpoints: [
      {
        type: { name: 'rootlink', plural: 'rootlinks', fields: { name: F.str() } },
        kind: 'collection',
        paths: '/',
        get: async () => ({ items: api.rootLinks().map((name) => ({ name })) }),
      },
      {
        type: { name: 'spec', plural: 'specs', fields: { path: F.str(), type: F.str(), plural: F.str(), type_spec: F.obj() } },
        kind: 'collection',
        paths: '/application.spec',
        get: async () => ({ items: api.spec() }),
      },
    ],
  };
}

/** The API with every module, the root and /application.spec. */
export function createApi(extra: readonly ApiModule[] = []): Api {
  const api = new Api([...BUILDBOT_MODULES, ...EXTENSION_MODULES, ...extra]);
  for (const e of rootModule(api).endpoints) api.register(e);
  return api;
}

/** What the API reads from: the master's database (the Master class has it as `db`). */
function masterDb(w: WwwContext): Database {
  const db = (w.master as { db?: Database }).db;
  if (!db) throw Object.assign(new Error('the data API needs the master database (WwwMaster.db)'), { status: 500 });
  return db;
}

/** Mounts the data API (GET/HEAD under /api/v2 and /api/latest) on the app, before its routes. */
export function mountApi(app: Koa, w: WwwContext, extra: readonly ApiModule[] = []): Api {
  const api = createApi(extra);
  app.use(api.middleware(w, () => masterDb(w)));
  return api;
}
