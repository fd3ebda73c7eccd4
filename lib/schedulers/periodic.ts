/**
 * Periodic (Buildbot's schedulers/timed.py): a build every periodicBuildTimer seconds. The first
 * ever builds at once (as Buildbot); after that the slots are last_build + k × interval, kept
 * across restarts and takeovers (Buildbot restarts the period from "now" after a missed slot).
 */
import type { ResolvedPeriodic } from '../config/resolved.js';
import { TimedScheduler } from './timed.js';
import type { SchedulerDeps } from './types.js';

export class PeriodicScheduler extends TimedScheduler<ResolvedPeriodic> {
  constructor(deps: SchedulerDeps, config: ResolvedPeriodic) {
    super(deps, config, 'Periodic');
  }

  protected nextSlot(last: number | null, now: number): number {
    const period = this.config.periodicBuildTimer;
    if (last === null) return now;
    const next = last + period;
    if (next > now) return next;
    return last + Math.floor((now - last) / period) * period;
  }
}
