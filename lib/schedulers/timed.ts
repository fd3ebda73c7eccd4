/**
 * Buildbot's Timed (schedulers/timed.py), the common part of Periodic, Nightly and
 * NightlyTriggerable: build at the times `nextSlot` gives, remembering the last one in state
 * `last_build` (epoch seconds, as Buildbot). With onlyIfChanged (or createAbsoluteSourceStamps)
 * it also classifies the changes it sees; onlyIfChanged skips a slot without an important change.
 *
 * Unlike Buildbot, a slot and its buildset are one transaction, and the slot is what is stored:
 * the same slot never builds twice, and slots missed while no master ran the scheduler build
 * once, at start, stored as the latest of them, so the schedule keeps its phase.
 */
import type { ResolvedNightly, ResolvedNightlyTriggerable, ResolvedPeriodic } from '../config/resolved.js';
import { classifyChanges, flushChangeClassifications, getChangeClassifications } from '../db/schedulers.js';
import type { SourcestampSpec } from '../db/sourcestamps.js';
import { BaseScheduler, type MatchedChange, type Scope } from './base.js';

type TimedConfig = ResolvedPeriodic | ResolvedNightly | ResolvedNightlyTriggerable;

const MAX_DELAY_MS = 2 ** 31 - 1;

export abstract class TimedScheduler<C extends TimedConfig> extends BaseScheduler<C> {
  private timer: NodeJS.Timeout | undefined;

  /**
   * The next slot (epoch s) after `last` (null: never built). A slot not after `now` means "due
   * now" and must be the latest due one.
   */
  protected abstract nextSlot(last: number | null, now: number): number;

  protected consumesChanges(): boolean {
    return this.config.onlyIfChanged || this.config.createAbsoluteSourceStamps;
  }

  protected override async prepare(): Promise<void> {
    if (this.consumesChanges()) await this.initChangeMark();
  }

  protected override async activate(): Promise<void> {
    if (this.consumesChanges()) this.startChangeFeed();
    else {
      // Buildbot: a timed scheduler that ignores changes keeps none classified.
      await this.fenced(async (scope) => {
        await flushChangeClassifications(this.deps.db, this.schedulerid, {}, scope.t);
        await this.skipChanges(scope);
      });
    }
    await this.scheduleNext();
  }

  protected override async deactivate(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async scheduleNext(): Promise<void> {
    clearTimeout(this.timer);
    const last = await this.getState<number | null>('last_build', null);
    const now = Date.now();
    const slot = this.nextSlot(last, now / 1000);
    const delay = Math.max(0, slot * 1000 - now);
    if (delay === 0) this.logger.info({ event: 'scheduler.missedSlot', slot }, `scheduler ${this.name}: a build time passed while it was not running; building now`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (delay >= MAX_DELAY_MS) void this.serial(() => this.scheduleNext());
      else void this.serial(() => this.actuate(slot));
    }, Math.min(delay, MAX_DELAY_MS));
  }

  /** Buildbot's _actuate: record the slot and start its build, together. */
  private async actuate(slot: number): Promise<void> {
    if (!this.active) return;
    try {
      await this.fenced(async (scope) => {
        const last = await this.getState<number | null>('last_build', null, scope.t);
        if (last !== null && last >= slot) return; // already built (by this master or before a takeover)
        await this.setState('last_build', slot, scope.t);
        await this.startBuild(scope);
      });
    } catch (err) {
      this.logger.error({ event: 'scheduler.actuateFailed', slot, err: (err as Error).stack ?? String(err) }, `scheduler ${this.name}: ${(err as Error).message}`);
      this.later(this.deps.pollIntervalMs, () => void this.serial(() => this.actuate(slot)));
      return;
    }
    if (this.active) await this.scheduleNext();
  }

  protected override async gotChanges(changes: MatchedChange[], scope: Scope): Promise<void> {
    // Buildbot's Timed.gotChange: a `branch` narrows the changes further.
    const mine = this.config.branch === undefined ? changes : changes.filter((m) => m.change.branch === this.config.branch);
    if (mine.length === 0) return;
    await classifyChanges(this.deps.db, this.schedulerid, new Map(mine.map((m) => [m.change.changeid, m.important])), scope.t);
    if (this.absoluteStamps()) await this.recordChanges(mine.map((m) => m.change), scope.t);
  }

  /** Buildbot's Timed.startBuild. */
  protected async startBuild(scope: Scope): Promise<void> {
    const classified = await getChangeClassifications(this.deps.db, this.schedulerid, scope.t);
    const lastOnlyIfChanged = await this.getState<boolean>('last_only_if_changed', false, scope.t);
    if (lastOnlyIfChanged && this.config.onlyIfChanged && !classified.some((c) => c.important)) {
      this.logger.info({ event: 'scheduler.skipped' }, `${this.className} scheduler <${this.name}>: skipping build - No important changes`);
      return;
    }
    if (lastOnlyIfChanged !== this.config.onlyIfChanged) await this.setState('last_only_if_changed', this.config.onlyIfChanged, scope.t);
    if (classified.length > 0) {
      const changeids = classified.map((c) => c.changeid).sort((a, b) => a - b);
      await this.buildsetForChanges(scope, changeids, this.config.reason);
      await flushChangeClassifications(this.deps.db, this.schedulerid, { changeids }, scope.t);
      return;
    }
    const stamps = await this.stampsWithDefaults(Object.keys(this.config.codebases).map((codebase) => ({ codebase })), scope.t);
    await scope.addBuildset({ sourcestamps: stamps, reason: this.config.reason, properties: this.schedulerProperties() });
  }

  /** Our addition: a `branch` is also what codebases without a configured branch build. */
  protected override async defaultStamp(codebase: string, t?: Scope['t']): Promise<SourcestampSpec> {
    const ss = await super.defaultStamp(codebase, t);
    if ((ss.branch === null || ss.branch === undefined) && this.config.branch !== undefined) ss.branch = this.config.branch;
    return ss;
  }
}
