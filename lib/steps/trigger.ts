/**
 * Trigger (Buildbot's steps.Trigger). TODO: starting buildsets on Triggerable schedulers needs
 * the schedulers of the changes/schedulers issue; until then the step fails and says so.
 */
import type { ResolvedTrigger } from '../config/resolved.js';
import { FAILURE } from '../process/results.js';
import type { StepDefinition } from './types.js';

export const TRIGGER_UNAVAILABLE = 'Trigger needs the schedulers of the changes/schedulers issue, which this master does not have yet';

export const triggerStep: StepDefinition<ResolvedTrigger> = {
  kind: 'Trigger',
  async run(ctx, step) {
    const names = step.schedulerNames.map(String).join(', ');
    await ctx.addCompleteLog('trigger', `${TRIGGER_UNAVAILABLE}.\nSchedulers that would have been triggered: ${names}\n`);
    return { results: FAILURE, summary: 'triggering not available' };
  },
};
