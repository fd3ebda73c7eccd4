/**
 * The inputs of a build that come from its requests (buildset properties and source stamps), the
 * builder's directory on the slave, and the build's properties in Buildbot's precedence order
 * (see assembleBuildProperties in properties.ts).
 */
import type { ResolvedBuilder, ResolvedConfig, WorkerConfig } from '../config/resolved.js';
import type { Database } from '../db/connection.js';
import type { BuildrequestRow } from '../db/buildrequests.js';
import { getBuildsetProperties, getBuildsetSourcestamps } from '../db/buildsets.js';
import { patchBody } from '../db/sourcestamps.js';
import type { BuildSourceStamp } from '../steps/types.js';
import type { Platform } from '../workers/platforms/platform.js';
import type { BuildsetCache } from './buildsetCache.js';
import { assembleBuildProperties, Properties } from './properties.js';

/** Buildbot names the source of c['properties'] after the config file. */
export const CONFIG_PROPERTY_SOURCE = 'master.config.ts';

export interface RequestInputs {
  /** One Properties per distinct buildset, in request order. */
  requestProperties: Properties[];
  /** The first request's buildset's stamps (Buildbot builds the first request's sources). */
  sourcestamps: BuildSourceStamp[];
}

/** The requests' buildset properties and source stamps, from `cache` when given (else the DB). */
export async function loadRequestInputs(db: Database, requests: readonly BuildrequestRow[], cache?: BuildsetCache): Promise<RequestInputs> {
  const bsids = [...new Set(requests.map((r) => r.buildsetid))];
  const requestProperties: Properties[] = [];
  for (const bsid of bsids) {
    // A copy of the cached values: a build may change what its properties hold.
    requestProperties.push(Properties.fromDict(cache ? structuredClone((await cache.get(bsid)).properties) : await getBuildsetProperties(db, bsid)));
  }
  const rows = bsids.length === 0 ? [] : cache ? (await cache.get(bsids[0])).sourcestamps : await getBuildsetSourcestamps(db, bsids[0]);
  const sourcestamps = rows.map((ss) => ({
    ssid: ss.id,
    codebase: ss.codebase ?? '',
    branch: ss.branch ?? null,
    revision: ss.revision ?? null,
    repository: ss.repository ?? '',
    project: ss.project ?? '',
    patch: ss.patch ? { level: ss.patch.patchlevel, body: patchBody(ss.patch), subdir: ss.patch.subdir ?? null, author: ss.patch.patch_author ?? null, comment: ss.patch.patch_comment ?? null } : null,
  }));
  return { requestProperties, sourcestamps };
}

/** The builder's directory on the slave: worker basedir + workerbuilddir (default builddir, then the name). */
export function workerBuilddir(platform: Platform, worker: Pick<WorkerConfig, 'basedir'>, builder: Pick<ResolvedBuilder, 'name' | 'builddir' | 'workerbuilddir'>): string {
  const dir = builder.workerbuilddir || builder.builddir || builder.name;
  return platform.isAbsolute(dir) ? dir : platform.joinPath(worker.basedir, dir);
}

export function buildProperties(args: {
  config: Pick<ResolvedConfig, 'properties'>;
  builder: ResolvedBuilder;
  worker: WorkerConfig;
  buildnumber: number;
  inputs: RequestInputs;
  builddir: string;
}): Properties {
  return assembleBuildProperties({
    global: { values: args.config.properties ?? {}, source: CONFIG_PROPERTY_SOURCE },
    requests: args.inputs.requestProperties,
    builder: { name: args.builder.name, properties: args.builder.properties, defaultProperties: args.builder.defaultProperties },
    worker: { name: args.worker.name, properties: args.worker.properties },
    buildnumber: args.buildnumber,
    sourcestamps: args.inputs.sourcestamps,
    builddir: args.builddir,
  });
}
