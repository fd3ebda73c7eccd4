/**
 * Triggerable (Buildbot's schedulers/triggerable.py): builds only when a Trigger step asks, with
 * the step's source stamps (over its codebase defaults), its properties (source 'Trigger', over
 * the scheduler's), and the triggering build as parent. It needs no claim to do so: a Trigger step
 * on any master adds the buildset at once; the step itself waits for it (lib/steps/trigger.ts).
 */
import type { ResolvedTriggerable } from '../config/resolved.js';
import { submitBuildset } from '../process/submitBuildset.js';
import { BaseScheduler } from './base.js';
import { builderIdsFor } from './buildsets.js';
import type { TriggerRequest, TriggerResult, TriggerTarget } from './triggerTypes.js';
import type { SchedulerDeps } from './types.js';

export class TriggerableScheduler extends BaseScheduler<ResolvedTriggerable> implements TriggerTarget {
  constructor(deps: SchedulerDeps, config: ResolvedTriggerable) {
    super(deps, config, 'Triggerable');
  }

  async trigger(req: TriggerRequest): Promise<TriggerResult> {
    const properties = { ...this.schedulerProperties(), ...req.set_props };
    // Buildbot: a `reason` property of the trigger is the buildset's reason.
    const given = req.set_props.reason?.[0];
    const reason = given !== undefined && given !== null ? String(given) : (this.config.reason ?? `The Triggerable scheduler named '${this.name}' triggered this build`);
    const sourcestamps = await this.stampsWithDefaults(req.sourcestamps.map((ss) => ({ ...ss, codebase: ss.codebase ?? '' })));
    const { bsid, brids } = await submitBuildset(this.deps.buildsetContext, {
      scheduler: this.name,
      sourcestamps,
      reason,
      properties,
      builderids: await builderIdsFor(this.deps, this.config.builderNames, properties),
      waited_for: req.waited_for,
      ...(req.parent_buildid !== null ? { parent_buildid: req.parent_buildid } : {}),
      ...(req.parent_relationship !== null ? { parent_relationship: req.parent_relationship } : {}),
    });
    return { bsid, brids };
  }
}
