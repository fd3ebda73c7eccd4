/**
 * The schedulers of one master (Buildbot's SchedulerManager): one service per configured
 * scheduler, started together, stopped together, and on reconfig diffed by name — an unchanged
 * scheduler keeps running, a changed one is replaced (its claim released and taken again; its
 * state stays, being keyed by name), a removed one stops.
 *
 *   const schedulers = await SchedulerManager.start(deps, config.schedulers, { buildbotURL, ownsBuild });
 *   schedulers.get('nightly')?.active;
 *   await schedulers.stop();
 */
import type { ResolvedScheduler } from '../config/resolved.js';
import { AnyBranchScheduler } from './anyBranch.js';
import type { BaseScheduler } from './base.js';
import { DependentScheduler } from './dependent.js';
import { NightlyScheduler } from './nightly.js';
import { NightlyTriggerableScheduler } from './nightlyTriggerable.js';
import { PassiveScheduler } from './passive.js';
import { PeriodicScheduler } from './periodic.js';
import { SingleBranchScheduler } from './singleBranch.js';
import { TriggerableScheduler } from './triggerable.js';
import { registerTriggerHost, TriggerService } from './triggerService.js';
import type { TriggerTarget } from './triggerTypes.js';
import { TryScheduler } from './try.js';
import type { SchedulerDeps } from './types.js';

export function createScheduler(deps: SchedulerDeps, config: ResolvedScheduler): BaseScheduler {
  switch (config.kind) {
    case 'SingleBranchScheduler':
      return new SingleBranchScheduler(deps, config);
    case 'AnyBranchScheduler':
      return new AnyBranchScheduler(deps, config);
    case 'Periodic':
      return new PeriodicScheduler(deps, config);
    case 'Nightly':
      return new NightlyScheduler(deps, config);
    case 'NightlyTriggerable':
      return new NightlyTriggerableScheduler(deps, config);
    case 'Triggerable':
      return new TriggerableScheduler(deps, config);
    case 'Dependent':
      return new DependentScheduler(deps, config);
    case 'Try':
      return new TryScheduler(deps, config);
    case 'ForceScheduler':
      return new PassiveScheduler(deps, config);
  }
}

export interface TriggerHostOptions {
  buildbotURL: string;
  /** Is this build (on this worker connection) one of this master's? */
  ownsBuild(buildid: number, conn: unknown): boolean;
}

/** Equal configs: functions by their source, regular expressions by pattern, the rest deeply. */
export function sameConfig(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'function' || typeof b === 'function') return typeof a === typeof b && String(a) === String(b);
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameConfig((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export class SchedulerManager {
  private readonly byName = new Map<string, BaseScheduler>();
  private unregister: (() => void) | undefined;

  private constructor(private readonly deps: SchedulerDeps) {}

  static async start(deps: SchedulerDeps, configs: readonly ResolvedScheduler[], trigger?: TriggerHostOptions): Promise<SchedulerManager> {
    const m = new SchedulerManager(deps);
    if (trigger) {
      m.unregister = registerTriggerHost(
        new TriggerService({
          db: deps.db,
          bus: deps.bus,
          logger: deps.logger,
          masterid: deps.masterid,
          buildbotURL: trigger.buildbotURL,
          pollIntervalMs: deps.pollIntervalMs,
          ownsBuild: trigger.ownsBuild,
          target: (name) => m.triggerTarget(name),
          now: deps.buildsetContext.now,
        }),
      );
    }
    try {
      await m.reconfig(configs);
    } catch (err) {
      await m.stop();
      throw err;
    }
    return m;
  }

  get(name: string): BaseScheduler | undefined {
    return this.byName.get(name);
  }

  list(): BaseScheduler[] {
    return [...this.byName.values()];
  }

  /** Names of the schedulers active on this master now. */
  activeNames(): string[] {
    return this.list()
      .filter((s) => s.active)
      .map((s) => s.name);
  }

  triggerTarget(name: string): TriggerTarget | undefined {
    const s = this.byName.get(name);
    return s instanceof TriggerableScheduler || s instanceof NightlyTriggerableScheduler ? s : undefined;
  }

  /** The Try scheduler called `name`, or the only one when no name is given. */
  tryScheduler(name?: string): TryScheduler | undefined {
    const all = this.list().filter((s): s is TryScheduler => s instanceof TryScheduler);
    if (name !== undefined) return all.find((s) => s.name === name);
    return all.length === 1 ? all[0] : undefined;
  }

  tryNames(): string[] {
    return this.list()
      .filter((s) => s instanceof TryScheduler)
      .map((s) => s.name);
  }

  /** Applies a new list of schedulers; returns what changed. */
  async reconfig(configs: readonly ResolvedScheduler[]): Promise<{ added: string[]; removed: string[]; replaced: string[] }> {
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const added: string[] = [];
    const removed: string[] = [];
    const replaced: string[] = [];
    for (const [name, s] of this.byName) {
      const next = wanted.get(name);
      if (next && next.kind === s.kind && sameConfig(next, s.config)) continue;
      await s.stop();
      this.byName.delete(name);
      (next ? replaced : removed).push(name);
    }
    for (const c of configs) {
      if (this.byName.has(c.name)) continue;
      const s = createScheduler(this.deps, c);
      await s.start();
      this.byName.set(c.name, s);
      if (!replaced.includes(c.name)) added.push(c.name);
    }
    return { added, removed, replaced };
  }

  /** Stops every scheduler (their claims released) and the trigger service. */
  async stop(): Promise<void> {
    this.unregister?.();
    this.unregister = undefined;
    await Promise.all(this.list().map((s) => s.stop().catch(() => undefined)));
    this.byName.clear();
  }
}
