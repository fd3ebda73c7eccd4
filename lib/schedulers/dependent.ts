/**
 * Dependent (Buildbot's schedulers/dependent.py): builds the source stamps of its upstream
 * schedulers' buildsets once they succeed. With one upstream, each upstream buildset that ends
 * SUCCESS or WARNINGS gives a buildset on the same source stamps, reason 'downstream' (Buildbot's
 * behaviour). With several upstreams it is a fan-in: for a given set of source stamps it builds
 * once every upstream's (latest) buildset on them has ended, and only if all succeeded.
 *
 * It learns of upstream buildsets by reading buildsets with id above its mark (`lastBuildsetId`)
 * whose `scheduler` property names an upstream — woken by this master's bus and by a poll, since
 * other masters' buildsets never reach our bus — and tracks them in state `upstream_bsids`
 * (Buildbot's name), all in the fenced transaction that adds the downstream buildset.
 */
import type { ResolvedDependent } from '../config/resolved.js';
import { getBuildsetsAfter, getWatchedBuildsets, maxBuildsetId, type WatchedBuildset } from '../db/schedulers.js';
import { initState } from '../db/state.js';
import { SUCCESS, WARNINGS } from '../process/results.js';
import { BaseScheduler, type Scope } from './base.js';
import { IdFeed, DEFAULT_GAP_GRACE_MS } from './idFeed.js';
import type { SchedulerDeps } from './types.js';

const BATCH = 200;
/** Upstream buildsets tracked at most (a fan-in whose other upstream never builds those stamps must not grow forever). */
const MAX_TRACKED = 1000;

const succeeded = (w: WatchedBuildset) => w.results === SUCCESS || w.results === WARNINGS;

export class DependentScheduler extends BaseScheduler<ResolvedDependent> {
  private readonly feed = new IdFeed();
  private unsubscribe: (() => void)[] = [];
  private poll: NodeJS.Timeout | undefined;
  private queued = false;

  constructor(deps: SchedulerDeps, config: ResolvedDependent) {
    super(deps, config, 'buildbot.schedulers.dependent.Dependent');
  }

  protected override async prepare(): Promise<void> {
    await initState(this.deps.db, this.objectid, 'lastBuildsetId', await maxBuildsetId(this.deps.db));
  }

  protected override async activate(): Promise<void> {
    this.feed.reset();
    const wake = () => this.requestPoll();
    this.unsubscribe = [this.deps.bus.subscribe(['buildsets', '*', 'new'], wake), this.deps.bus.subscribe(['buildsets', '*', 'complete'], wake)];
    this.poll = setInterval(wake, this.deps.pollIntervalMs);
    this.requestPoll();
  }

  protected override async deactivate(): Promise<void> {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    clearInterval(this.poll);
  }

  private requestPoll(): void {
    if (this.queued) return;
    this.queued = true;
    void this.serial(async () => {
      this.queued = false;
      if (!this.active) return;
      try {
        await this.check();
      } catch (err) {
        this.logger.error({ event: 'scheduler.dependentFailed', err: (err as Error).stack ?? String(err) }, `scheduler ${this.name}: ${(err as Error).message}`);
      }
    });
  }

  private async check(): Promise<void> {
    const { db } = this.deps;
    const r = await this.fenced(async (scope) => {
      let mark = await this.getState<number | null>('lastBuildsetId', null, scope.t);
      if (mark === null) {
        mark = await maxBuildsetId(db, scope.t);
        await this.setState('lastBuildsetId', mark, scope.t);
      }
      const rows = await getBuildsetsAfter(db, mark, BATCH, scope.t);
      const step = this.feed.step(mark, rows, (b) => b.id);
      const tracked = await this.getState<number[]>('upstream_bsids', [], scope.t);
      const before = JSON.stringify(tracked);
      for (const b of step.accepted) {
        if (b.scheduler !== null && this.config.upstream.includes(b.scheduler) && !tracked.includes(b.id)) tracked.push(b.id);
      }
      if (step.mark !== mark) await this.setState('lastBuildsetId', step.mark, scope.t);
      const remaining = await this.buildCompleted(tracked, scope);
      if (JSON.stringify(remaining) !== before) await this.setState('upstream_bsids', remaining, scope.t);
      return { more: rows.length === BATCH && !step.waiting, waiting: step.waiting };
    });
    if (r?.value.more) this.requestPoll();
    else if (r?.value.waiting) this.later(DEFAULT_GAP_GRACE_MS, () => this.requestPoll());
  }

  /** Adds the downstream buildsets now due; returns the upstream buildsets still to watch. */
  private async buildCompleted(tracked: number[], scope: Scope): Promise<number[]> {
    const watched = await getWatchedBuildsets(this.deps.db, tracked, scope.t);
    const done = new Set<number>(tracked.filter((id) => !watched.some((w) => w.id === id))); // gone from the DB
    const fire = async (ssids: number[]) => {
      await scope.addBuildset({ sourcestamps: ssids, reason: 'downstream', properties: this.schedulerProperties() });
    };
    if (this.config.upstream.length === 1) {
      for (const w of watched) {
        if (!w.complete) continue;
        if (succeeded(w)) await fire(w.ssids);
        done.add(w.id);
      }
    } else {
      const groups = new Map<string, WatchedBuildset[]>();
      for (const w of watched) {
        const key = [...w.ssids].sort((a, b) => a - b).join(',');
        groups.set(key, [...(groups.get(key) ?? []), w]);
      }
      for (const group of groups.values()) {
        const latest = this.config.upstream.map((u) => group.filter((w) => w.scheduler === u).sort((a, b) => b.id - a.id)[0]);
        if (latest.some((w) => w === undefined || !w.complete)) continue;
        if (latest.every((w) => succeeded(w!))) await fire(latest[0]!.ssids);
        for (const w of group) done.add(w.id);
      }
    }
    const remaining = tracked.filter((id) => !done.has(id));
    return remaining.slice(Math.max(0, remaining.length - MAX_TRACKED));
  }
}
