/**
 * SingleBranchScheduler (Buildbot's schedulers/basic.py): the changes its filter accepts (usually
 * one branch) go under one tree-stable timer, or each important one builds at once. With
 * createAbsoluteSourceStamps, codebases without a change build the last change seen on them.
 */
import type { ResolvedSingleBranchScheduler } from '../config/resolved.js';
import { BasicScheduler } from './basic.js';
import type { SchedulerDeps } from './types.js';

export class SingleBranchScheduler extends BasicScheduler<ResolvedSingleBranchScheduler> {
  constructor(deps: SchedulerDeps, config: ResolvedSingleBranchScheduler) {
    super(deps, config, 'SingleBranchScheduler');
  }

  protected timerName(): string {
    return 'only';
  }
}
