/**
 * Schedulers against a real database without a Master: a masters row, builders, a bus, and the
 * buildset context a master would give (no collapsing). `restart()` is a master restart: the old
 * schedulers stop, new instances (a new bus) start on the same DB.
 */
import { z } from 'zod';
import type { ResolvedScheduler } from '../../lib/config/resolved.js';
import { SCHEDULER_SCHEMAS } from '../../lib/config/schemas/schedulers.js';
import type { SchedulerKind } from '../../lib/config/schedulers.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { getBuildsetProperties, getBuildsetSourcestamps, getBuildset, type PropertyMap } from '../../lib/db/buildsets.js';
import { getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { addChange, type ChangeSpec } from '../../lib/db/changes.js';
import type { Database } from '../../lib/db/connection.js';
import { findOrCreateMaster, markMasterActive } from '../../lib/db/masters.js';
import { select } from '../../lib/db/query.js';
import type { SourcestampWithPatch } from '../../lib/db/sourcestamps.js';
import { MessageBus } from '../../lib/master/bus.js';
import type { BaseScheduler } from '../../lib/schedulers/base.js';
import { createScheduler } from '../../lib/schedulers/manager.js';
import type { SchedulerDeps } from '../../lib/schedulers/types.js';
import { silentLogger } from '../../lib/util/log.js';

/** The real clock's setTimeout, for waiting while sinon fakes the global one. */
const realSetTimeout = globalThis.setTimeout;
export const realSleep = (ms: number) => new Promise<void>((r) => realSetTimeout(r, ms));

/** Polls (on the real clock) until `fn` is truthy. */
export async function eventually<T>(fn: () => Promise<T> | T, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await realSleep(20);
  }
}

/** A resolved scheduler config from Buildbot-style options (the loader's own schema, defaults applied). */
export function scheduler<K extends SchedulerKind>(kind: K, options: Record<string, unknown>): Extract<ResolvedScheduler, { kind: K }> {
  return (SCHEDULER_SCHEMAS[kind] as z.ZodType).parse(options) as Extract<ResolvedScheduler, { kind: K }>;
}

export interface BuildsetView {
  bsid: number;
  reason: string | null;
  properties: PropertyMap;
  sourcestamps: SourcestampWithPatch[];
  builders: string[];
  parent_buildid: number | null;
  parent_relationship: string | null;
  waited_for: boolean;
}

export class SchedulerHarness {
  bus = new MessageBus();
  readonly running: BaseScheduler[] = [];
  private readonly builderNames = new Map<number, string>();

  private constructor(
    readonly db: Database,
    readonly masterid: number,
    readonly builderIds: Map<string, number>,
    readonly timing: { claimIntervalMs: number; pollIntervalMs: number },
  ) {
    for (const [n, id] of builderIds) this.builderNames.set(id, n);
  }

  static async create(
    db: Database,
    opts: { builders?: string[]; masterName?: string; claimIntervalMs?: number; pollIntervalMs?: number } = {},
  ): Promise<SchedulerHarness> {
    const masterid = await findOrCreateMaster(db, opts.masterName ?? 'testhost:/masters/sched');
    await markMasterActive(db, masterid, Math.floor(Date.now() / 1000));
    const ids = new Map<string, number>();
    for (const b of opts.builders ?? ['b1', 'b2']) ids.set(b, await findOrCreateBuilder(db, b));
    return new SchedulerHarness(db, masterid, ids, { claimIntervalMs: opts.claimIntervalMs ?? 3_600_000, pollIntervalMs: opts.pollIntervalMs ?? 3_600_000 });
  }

  deps(): SchedulerDeps {
    return {
      db: this.db,
      bus: this.bus,
      logger: silentLogger(),
      masterid: this.masterid,
      buildsetContext: {
        db: this.db,
        bus: this.bus,
        logger: silentLogger(),
        masterid: this.masterid,
        master: undefined,
        collapseSettingFor: () => undefined,
        now: () => Math.floor(Date.now() / 1000),
      },
      builderId: (name) => this.builderIds.get(name),
      claimIntervalMs: this.timing.claimIntervalMs,
      pollIntervalMs: this.timing.pollIntervalMs,
      secrets: async (name) => (name === 'trypass' ? 'sesame' : undefined),
    };
  }

  async start<S extends BaseScheduler = BaseScheduler>(config: ResolvedScheduler): Promise<S> {
    const s = createScheduler(this.deps(), config);
    await s.start();
    this.running.push(s);
    return s as S;
  }

  /** Stops every scheduler (a master stopping). */
  async stopAll(): Promise<void> {
    for (const s of this.running.splice(0)) await s.stop();
  }

  /** A master restart: stop, new bus, start the same configs again. */
  async restart<S extends BaseScheduler = BaseScheduler>(configs: ResolvedScheduler[]): Promise<S[]> {
    await this.stopAll();
    this.bus = new MessageBus();
    const out: S[] = [];
    for (const c of configs) out.push(await this.start<S>(c));
    return out;
  }

  /** Adds a change as a change source would: stored, then announced on this master's bus (unless `quiet`). */
  async addChange(spec: Partial<ChangeSpec>, opts: { quiet?: boolean } = {}): Promise<number> {
    const changeid = await addChange(this.db, { author: 'dev <dev@example.org>', ...spec });
    if (!opts.quiet) this.bus.publish(['changes', String(changeid), 'new'], { changeid });
    return changeid;
  }

  async buildsets(): Promise<BuildsetView[]> {
    const rows = await select<{ id: number }>(this.db, 'SELECT id FROM buildsets ORDER BY id');
    const out: BuildsetView[] = [];
    for (const { id } of rows) {
      const bs = (await getBuildset(this.db, Number(id)))!;
      const reqs = await getRequestsOfBuildset(this.db, Number(id));
      out.push({
        bsid: Number(id),
        reason: bs.reason,
        properties: await getBuildsetProperties(this.db, Number(id)),
        sourcestamps: await getBuildsetSourcestamps(this.db, Number(id)),
        builders: reqs.map((r) => this.builderNames.get(r.builderid) ?? String(r.builderid)).sort(),
        parent_buildid: bs.parent_buildid,
        parent_relationship: bs.parent_relationship,
        waited_for: reqs.some((r) => Boolean(r.waited_for)),
      });
    }
    return out;
  }

  async buildsetCount(): Promise<number> {
    const [row] = await select<{ n: number }>(this.db, 'SELECT COUNT(*) AS n FROM buildsets');
    return Number(row!.n);
  }

  /** Waits until every running scheduler has done what it has queued. */
  async idle(): Promise<void> {
    for (let i = 0; i < 3; i++) for (const s of this.running) await s.idle();
  }
}
