/**
 * Nightly (Buildbot's schedulers/timed.py): builds at the times of a cron schedule — Buildbot's
 * minute/hour/dayOfMonth/month/dayOfWeek fields (dayOfWeek 0 = Monday) or a cron expression — in
 * the master's local time or `timezone`. Slots that passed while no master ran it build once.
 */
import type { ResolvedNightly } from '../config/resolved.js';
import { nextCronSlot } from './cronSlots.js';
import { TimedScheduler } from './timed.js';
import type { SchedulerDeps } from './types.js';

export class NightlyScheduler extends TimedScheduler<ResolvedNightly> {
  constructor(deps: SchedulerDeps, config: ResolvedNightly) {
    super(deps, config, 'Nightly');
  }

  protected nextSlot(last: number | null, now: number): number {
    return nextCronSlot(this.config.cron, last, now, this.config.timezone);
  }
}
