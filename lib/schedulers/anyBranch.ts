/**
 * AnyBranchScheduler (Buildbot's schedulers/basic.py): like SingleBranchScheduler for every branch
 * its filter accepts, with one tree-stable timer per (codebase, project, repository, branch), so a
 * busy branch does not hold back the buildset of a quiet one.
 */
import type { ResolvedAnyBranchScheduler } from '../config/resolved.js';
import type { SchedulerChange } from '../db/schedulers.js';
import { BasicScheduler } from './basic.js';
import type { SchedulerDeps } from './types.js';

export class AnyBranchScheduler extends BasicScheduler<ResolvedAnyBranchScheduler> {
  constructor(deps: SchedulerDeps, config: ResolvedAnyBranchScheduler) {
    super(deps, config, 'AnyBranchScheduler');
  }

  /** Buildbot's timer key, as JSON so it can name a state entry. */
  protected timerName(c: Pick<SchedulerChange, 'codebase' | 'project' | 'repository' | 'branch'>): string {
    return JSON.stringify([c.codebase, c.project, c.repository, c.branch]);
  }

  /** Buildbot's AnyBranchScheduler has no absolute source stamps. */
  protected override absoluteStamps(): boolean {
    return false;
  }
}
