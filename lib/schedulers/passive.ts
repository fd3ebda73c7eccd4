/**
 * A scheduler that acts only when asked — ForceScheduler (through Master.force and the web's
 * `force`): it is registered and claimed like the others, so the schedulers table and
 * scheduler_masters show it, but being active changes nothing.
 */
import type { ResolvedForceScheduler } from '../config/resolved.js';
import { BaseScheduler } from './base.js';
import type { SchedulerDeps } from './types.js';

export class PassiveScheduler extends BaseScheduler<ResolvedForceScheduler> {
  constructor(deps: SchedulerDeps, config: ResolvedForceScheduler) {
    super(deps, config, config.kind);
  }
}
