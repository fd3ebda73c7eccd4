/**
 * Trigger (Buildbot's steps/trigger.py): start buildsets on Triggerable (or NightlyTriggerable)
 * schedulers, as children of this build (parent_buildid, parent_relationship).
 *
 * - Source stamps: `sourceStamps` if given; none with alwaysUseLatest (the schedulers' defaults);
 *   else this build's, with each codebase's got_revision when updateSourceStamp (the default).
 * - Properties: set_properties and copy_properties (already rendered), source 'Trigger'.
 * - A link per request at once; with waitForFinish the step waits for every buildset (they may
 *   run on other masters), its result is the worst of theirs (unimportantSchedulerNames left
 *   out), and it links each build. Stopped while waiting: the requests nobody started are
 *   cancelled and the step ends CANCELLED.
 */
import type { ResolvedTrigger } from '../config/resolved.js';
import type { PropertyMap } from '../db/buildsets.js';
import { CANCELLED, EXCEPTION, resultName, ALL_RESULTS, SUCCESS, worstStatus, type ResultCode } from '../process/results.js';
import { findTriggerHost, type TriggerHost } from '../schedulers/triggerService.js';
import type { TriggerResult, TriggerStamp } from '../schedulers/triggerTypes.js';
import type { StepContext, StepDefinition } from './types.js';

interface Triggered {
  name: string;
  unimportant: boolean;
  result: TriggerResult;
}

/** got_revision: a revision, or codebase → revision. */
function gotRevisions(ctx: StepContext): Record<string, unknown> {
  const got = ctx.properties.getProperty('got_revision', {});
  if (got !== null && typeof got === 'object' && !Array.isArray(got)) return got as Record<string, unknown>;
  return got === undefined || got === null ? {} : { '': got };
}

/** Buildbot's prepareSourcestampListForTrigger, sorted by codebase. */
export function triggerStamps(ctx: StepContext, step: ResolvedTrigger): TriggerStamp[] {
  const byCodebase = new Map<string, TriggerStamp>();
  if (step.sourceStamps.length > 0) {
    for (const ss of step.sourceStamps) {
      const codebase = ss.codebase ?? '';
      if (byCodebase.has(codebase)) throw new Error(`codebase '${codebase}' is given more than once in sourceStamps`);
      byCodebase.set(codebase, { ...ss, codebase });
    }
  } else if (!step.alwaysUseLatest) {
    const got = step.updateSourceStamp ? gotRevisions(ctx) : {};
    for (const ss of ctx.sourcestamps) {
      const revision = ss.codebase in got ? (got[ss.codebase] as string | null) : undefined;
      if (ss.ssid !== undefined) byCodebase.set(ss.codebase, { ssid: ss.ssid, codebase: ss.codebase, ...(revision !== undefined ? { revision } : {}) });
      else byCodebase.set(ss.codebase, { codebase: ss.codebase, branch: ss.branch, repository: ss.repository, project: ss.project, revision: revision ?? ss.revision });
    }
  }
  return [...byCodebase.keys()].sort().map((k) => byCodebase.get(k)!);
}

/** Buildbot's getCurrentSummary: "triggered a, b, 2 successes, 1 failure". */
function summary(names: string[], results: (number | null)[]): string {
  let s = `triggered ${names.join(', ')}`;
  for (const code of ALL_RESULTS) {
    const n = results.filter((r) => r === code).length;
    if (n > 0) s += `, ${n} ${resultName(code, n)}`;
  }
  return s;
}

async function cancel(host: TriggerHost, triggered: Triggered[], ctx: StepContext): Promise<void> {
  const brids = triggered.flatMap((t) => Object.values(t.result.brids));
  const cancelled = await host.cancelRequests(brids).catch((err: unknown) => {
    ctx.logger.warn({ event: 'trigger.cancelFailed', err: (err as Error).message }, 'cancelling triggered requests failed');
    return [];
  });
  if (cancelled.length > 0) ctx.logger.info({ event: 'trigger.cancelled', brids: cancelled }, `cancelled ${cancelled.length} triggered request(s)`);
}

export const triggerStep: StepDefinition<ResolvedTrigger> = {
  kind: 'Trigger',
  async run(ctx, step) {
    const host = findTriggerHost(ctx.buildid, ctx.conn);
    if (!host) throw new Error('this build runs on no master with schedulers: nothing can be triggered');
    const names = step.schedulerNames.map(String);
    const targets = names.map((name) => {
      const target = host.target(name);
      if (!target) throw new Error(`unknown triggered scheduler: '${name}' (only Triggerable and NightlyTriggerable schedulers can be triggered)`);
      return target;
    });
    const sourcestamps = triggerStamps(ctx, step);
    const setProps: PropertyMap = {};
    for (const [k, v] of Object.entries(step.set_properties)) setProps[k] = [v, 'Trigger'];

    let results: ResultCode = SUCCESS;
    const triggered: Triggered[] = [];
    for (const target of targets) {
      let result: TriggerResult;
      try {
        result = await target.trigger({
          waited_for: step.waitForFinish,
          sourcestamps,
          set_props: setProps,
          parent_buildid: ctx.buildid,
          parent_relationship: step.parent_relationship,
        });
      } catch (err) {
        await ctx.addCompleteLog('err.text', err instanceof Error ? (err.stack ?? err.message) : String(err));
        results = EXCEPTION;
        continue;
      }
      triggered.push({ name: target.name, unimportant: step.unimportantSchedulerNames.includes(target.name), result });
      for (const brid of Object.values(result.brids)) await ctx.addURL(`${target.name} #${brid}`, host.requestUrl(brid));
      if (ctx.signal.aborted) {
        await cancel(host, triggered, ctx);
        return { results: CANCELLED, summary: 'interrupted' };
      }
    }
    const triggeredNames = triggered.map((t) => t.name);
    if (triggeredNames.length > 0) await ctx.setStateString(summary(triggeredNames, []));
    if (!step.waitForFinish) return { results, summary: triggeredNames.length ? summary(triggeredNames, []) : undefined };

    const buildResults: (number | null)[] = [];
    for (const t of triggered) {
      let r = t.result.results;
      if (r === undefined && t.result.bsid !== undefined) r = await host.waitForBuildset(t.result.bsid, ctx.signal);
      else r ??= SUCCESS;
      if (r === undefined) {
        await cancel(host, triggered, ctx);
        return { results: CANCELLED, summary: 'interrupted' };
      }
      if (!t.unimportant) results = worstStatus(results, r) ?? results;
      for (const brid of Object.values(t.result.brids)) {
        for (const b of await host.builds(brid)) {
          buildResults.push(b.results);
          await ctx.addURL(`${resultName(b.results)}: ${b.builderName} #${b.number}`, host.buildUrl(b.builderid, b.number));
        }
      }
      await ctx.setStateString(summary(triggeredNames, buildResults));
    }
    return { results, summary: summary(triggeredNames, buildResults) };
  },
};
