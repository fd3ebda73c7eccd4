/**
 * NightlyTriggerable (Buildbot's schedulers/timed.py): a Trigger step only records what to build
 * (state `lastTrigger` = [sourcestamps, properties, parent_buildid, parent_relationship], the last
 * trigger wins) and succeeds at once; the next cron slot builds it and clears it, in one
 * transaction. Any master may record a trigger; the one running the scheduler builds it.
 */
import type { ResolvedNightlyTriggerable } from '../config/resolved.js';
import type { PropertyMap } from '../db/buildsets.js';
import { getSourcestamp } from '../db/sourcestamps.js';
import { deleteState, setState } from '../db/state.js';
import { SUCCESS } from '../process/results.js';
import type { Scope } from './base.js';
import { nextCronSlot } from './cronSlots.js';
import { TimedScheduler } from './timed.js';
import type { TriggerRequest, TriggerResult, TriggerStamp, TriggerTarget } from './triggerTypes.js';
import type { SchedulerDeps } from './types.js';

type StoredStamp = Record<string, unknown> & { codebase: string; ssid?: number };
type LastTrigger = [StoredStamp[], PropertyMap, number | null, string | null];

export class NightlyTriggerableScheduler extends TimedScheduler<ResolvedNightlyTriggerable> implements TriggerTarget {
  constructor(deps: SchedulerDeps, config: ResolvedNightlyTriggerable) {
    super(deps, config, 'NightlyTriggerable');
  }

  protected override consumesChanges(): boolean {
    return false;
  }

  protected nextSlot(last: number | null, now: number): number {
    return nextCronSlot(this.config.cron, last, now, this.config.timezone);
  }

  async trigger(req: TriggerRequest): Promise<TriggerResult> {
    const stamps: StoredStamp[] = [];
    for (const ss of req.sourcestamps) stamps.push(await this.storable(ss));
    const value: LastTrigger = [stamps, req.set_props, req.parent_buildid, req.parent_relationship];
    await setState(this.deps.db, this.objectid, 'lastTrigger', value);
    this.logger.info({ event: 'scheduler.triggerRecorded' }, `scheduler ${this.name}: trigger recorded for its next build time`);
    return { brids: {}, results: SUCCESS };
  }

  /** As Buildbot stores it: the stamp's fields (plus its id, which we reuse). */
  private async storable(ss: TriggerStamp): Promise<StoredStamp> {
    if (!('ssid' in ss)) return { ...ss, codebase: ss.codebase ?? '' } as StoredStamp;
    const row = await getSourcestamp(this.deps.db, ss.ssid);
    if (!row) return { codebase: ss.codebase, ssid: ss.ssid, ...(ss.revision !== undefined ? { revision: ss.revision } : {}) };
    const stored: StoredStamp = { ssid: row.id, codebase: row.codebase, repository: row.repository, branch: row.branch, revision: row.revision, project: row.project };
    // Another revision than the stamp's: keep the id as a reference, resolved when it builds.
    if (ss.revision !== undefined && ss.revision !== row.revision) stored.revision = ss.revision;
    return stored;
  }

  protected override async startBuild(scope: Scope): Promise<void> {
    const last = await this.getState<LastTrigger | null>('lastTrigger', null, scope.t);
    if (!last) return;
    await deleteState(this.deps.db, this.objectid, 'lastTrigger', scope.t);
    const [stamps, props, parentBuildid, relationship] = last;
    const given = (Array.isArray(stamps) ? stamps : Object.values(stamps as Record<string, StoredStamp>)).map((ss) =>
      typeof ss.ssid === 'number'
        ? { ssid: ss.ssid, codebase: ss.codebase ?? '', revision: (ss.revision ?? null) as string | null }
        : { ...ss, codebase: ss.codebase ?? '' },
    );
    const sourcestamps = await this.stampsWithDefaults(given, scope.t);
    await scope.addBuildset({
      sourcestamps,
      reason: this.config.reason,
      properties: { ...this.schedulerProperties(), ...(props ?? {}) },
      parent_buildid: parentBuildid ?? null,
      parent_relationship: relationship ?? null,
    });
  }
}
