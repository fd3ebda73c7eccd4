/**
 * The objects a config's builder callbacks receive (nextWorker, nextBuild, canStartBuild,
 * prioritizeBuilders, collapseRequests), shaped after the Buildbot objects those callbacks get so
 * that ported code reads the same:
 *
 * - BuilderHandle (Buildbot's Builder): `name`, `builderid`, `config` (the resolved builder config),
 *   `getOldestRequestTime()` → epoch seconds of its oldest pending request, or undefined.
 * - WorkerHandle (Buildbot's WorkerForBuilder): `name`/`workername`, `worker.workername`,
 *   `worker.properties`, `config` (the resolved worker config), `runningBuilds`, `maxBuilds`.
 * - BuildRequestHandle (Buildbot's BuildRequest): `id`, `bsid`, `buildername`, `builderid`, `priority`,
 *   `submittedAt` (epoch s), `waitedFor`, `reason`, `properties` (a Properties: getProperty(name),
 *   hasProperty(name), asDict()), `sources` (codebase → source stamp row: ssid, branch, revision,
 *   repository, project, codebase, patchid), and `row` (the buildrequests row, Buildbot's brdict).
 * - collapseRequests gets brdicts (the rows) like Buildbot, not BuildRequest objects.
 */
import type { ResolvedBuilder, WorkerConfig } from '../config/resolved.js';
import type { Database } from '../db/connection.js';
import type { BuildrequestRow } from '../db/buildrequests.js';
import { getBuildset, getBuildsetProperties, getBuildsetSourcestamps } from '../db/buildsets.js';
import type { BuildsetCache } from './buildsetCache.js';
import { Properties, type PropertyDict } from './properties.js';

export interface BuilderHandle {
  readonly name: string;
  readonly builderid: number;
  readonly config: ResolvedBuilder;
  getOldestRequestTime(): Promise<number | undefined>;
}

export interface WorkerHandle {
  readonly name: string;
  readonly workername: string;
  readonly worker: { readonly name: string; readonly workername: string; readonly properties: Record<string, unknown> };
  readonly config: WorkerConfig;
  readonly runningBuilds: number;
  readonly maxBuilds: number;
}

/** A source stamp as the request handle shows it (Buildbot's ssdict fields). */
export interface SourceStampView {
  ssid: number;
  codebase: string;
  branch: string | null;
  revision: string | null;
  repository: string;
  project: string;
  patchid: number | null;
}

export interface BuildRequestHandle {
  readonly id: number;
  readonly buildrequestid: number;
  readonly bsid: number;
  readonly buildsetid: number;
  readonly builderid: number;
  readonly buildername: string;
  readonly priority: number;
  readonly submittedAt: number;
  readonly waitedFor: boolean;
  readonly reason: string;
  readonly properties: Properties;
  readonly sources: Record<string, SourceStampView>;
  readonly row: BuildrequestRow;
}

export function workerHandle(config: WorkerConfig, runningBuilds: number): WorkerHandle {
  return {
    name: config.name,
    workername: config.name,
    worker: { name: config.name, workername: config.name, properties: config.properties },
    config,
    runningBuilds,
    maxBuilds: config.maxBuilds,
  };
}

interface BuildsetView {
  reason: string;
  properties: PropertyDict;
  sources: Record<string, SourceStampView>;
}

/** Builds request handles from rows, reading each buildset once (they are often shared). */
export class RequestHandleLoader {
  private readonly buildsets = new Map<number, Promise<BuildsetView>>();
  private readonly handles = new Map<number, Promise<BuildRequestHandle>>();

  constructor(
    private readonly db: Database,
    private readonly cache?: BuildsetCache,
  ) {}

  get(row: BuildrequestRow, buildername: string): Promise<BuildRequestHandle> {
    let h = this.handles.get(row.id);
    if (!h) {
      h = this.load(row, buildername);
      this.handles.set(row.id, h);
      h.catch(() => this.handles.delete(row.id));
    }
    return h;
  }

  buildset(bsid: number): Promise<BuildsetView> {
    let b = this.buildsets.get(bsid);
    if (!b) {
      b = this.loadBuildset(bsid);
      this.buildsets.set(bsid, b);
      b.catch(() => this.buildsets.delete(bsid));
    }
    return b;
  }

  private async load(row: BuildrequestRow, buildername: string): Promise<BuildRequestHandle> {
    const bs = await this.buildset(row.buildsetid);
    return {
      id: row.id,
      buildrequestid: row.id,
      bsid: row.buildsetid,
      buildsetid: row.buildsetid,
      builderid: row.builderid,
      buildername,
      priority: row.priority,
      submittedAt: row.submitted_at,
      waitedFor: Boolean(row.waited_for),
      reason: bs.reason,
      properties: Properties.fromDict(bs.properties),
      sources: bs.sources,
      row,
    };
  }

  private async loadBuildset(bsid: number): Promise<BuildsetView> {
    const [buildset, properties, stamps] = this.cache
      ? await this.cache.get(bsid).then((f) => [f.row, f.properties, f.sourcestamps] as const)
      : await Promise.all([getBuildset(this.db, bsid), getBuildsetProperties(this.db, bsid), getBuildsetSourcestamps(this.db, bsid)]);
    const sources: Record<string, SourceStampView> = {};
    for (const ss of stamps) {
      sources[ss.codebase] = {
        ssid: ss.id,
        codebase: ss.codebase,
        branch: ss.branch ?? null,
        revision: ss.revision ?? null,
        repository: ss.repository ?? '',
        project: ss.project ?? '',
        patchid: ss.patchid ?? null,
      };
    }
    return { reason: buildset?.reason ?? '', properties, sources };
  }
}
