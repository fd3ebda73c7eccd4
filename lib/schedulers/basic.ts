/**
 * Buildbot's BaseBasicScheduler (schedulers/basic.py), the common part of SingleBranchScheduler and
 * AnyBranchScheduler:
 *
 * - treeStableTimer null: a buildset for each important change, at once.
 * - treeStableTimer T: every matching change is classified in scheduler_changes (important or
 *   not); an important change — or any change while its timer runs — (re)starts the timer; when
 *   the timer fires, one buildset for all the changes classified under it, which are then forgotten.
 *
 * Unlike Buildbot, timers live in the DB: the deadline of each running timer is kept in
 * object_state (`stableTimers`: timer name → epoch ms) in the same transaction that classifies the
 * change. After a restart, or on the master that takes the scheduler over, a pending timer fires
 * once at its deadline (at once if that passed), instead of starting again from zero. And a timer
 * forgets only the changes it built (Buildbot flushes every classification below its newest change,
 * other branches' too).
 */
import type { ResolvedAnyBranchScheduler, ResolvedSingleBranchScheduler } from '../config/resolved.js';
import { classifyChanges, flushChangeClassifications, getChangeClassifications, type Classification, type SchedulerChange } from '../db/schedulers.js';
import { BaseScheduler, type MatchedChange, type Scope } from './base.js';

type Deadlines = Record<string, number>;

const STATE = 'stableTimers';
/** setTimeout takes at most 2^31−1 ms; longer waits are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export abstract class BasicScheduler<C extends ResolvedSingleBranchScheduler | ResolvedAnyBranchScheduler> extends BaseScheduler<C> {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** The timer a change goes under. */
  protected abstract timerName(c: Pick<SchedulerChange, 'codebase' | 'project' | 'repository' | 'branch'>): string;

  private get stableMs(): number | null {
    return this.config.treeStableTimer === null ? null : this.config.treeStableTimer * 1000;
  }

  protected override async prepare(): Promise<void> {
    await this.initChangeMark();
  }

  protected override async activate(): Promise<void> {
    const stable = this.stableMs;
    await this.fenced(async (scope) => {
      if (stable === null) {
        // Buildbot: without a timer nothing stays classified.
        await flushChangeClassifications(this.deps.db, this.schedulerid, {}, scope.t);
        return;
      }
      // Timers pending when the scheduler last ran elsewhere keep their deadlines; important
      // changes classified without one (a database Buildbot ran) start theirs now, as Buildbot does.
      const deadlines = await this.getState<Deadlines>(STATE, {}, scope.t);
      let changed = false;
      for (const c of await getChangeClassifications(this.deps.db, this.schedulerid, scope.t)) {
        const name = this.timerName(c);
        if (c.important && deadlines[name] === undefined) {
          deadlines[name] = Date.now() + stable;
          changed = true;
        }
      }
      for (const name of Object.keys(deadlines)) {
        if (!Number.isFinite(deadlines[name])) {
          delete deadlines[name];
          changed = true;
        }
      }
      if (changed) await this.setState(STATE, deadlines, scope.t);
      scope.after(() => {
        for (const [name, at] of Object.entries(deadlines)) this.schedule(name, at);
      });
    });
    this.startChangeFeed();
  }

  protected override async deactivate(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  protected override async gotChanges(changes: MatchedChange[], scope: Scope): Promise<void> {
    if (this.absoluteStamps()) await this.recordChanges(changes.map((m) => m.change), scope.t);
    const stable = this.stableMs;
    if (stable === null) {
      for (const { change, important } of changes) {
        if (important) await this.buildsetForChanges(scope, [change.changeid], this.config.reason);
      }
      return;
    }
    const deadlines = await this.getState<Deadlines>(STATE, {}, scope.t);
    const restarted = new Map<string, number>();
    for (const { change, important } of changes) {
      const name = this.timerName(change);
      if (important || deadlines[name] !== undefined) {
        deadlines[name] = Date.now() + stable;
        restarted.set(name, deadlines[name]);
      }
    }
    await classifyChanges(this.deps.db, this.schedulerid, new Map(changes.map((m) => [m.change.changeid, m.important])), scope.t);
    if (restarted.size > 0) await this.setState(STATE, deadlines, scope.t);
    scope.after(() => {
      for (const [name, at] of restarted) this.schedule(name, at);
    });
  }

  private schedule(name: string, at: number): void {
    clearTimeout(this.timers.get(name));
    const delay = Math.max(0, at - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(name);
      if (delay >= MAX_DELAY_MS) this.schedule(name, at);
      else void this.serial(() => this.fire(name));
    }, Math.min(delay, MAX_DELAY_MS));
    this.timers.set(name, timer);
  }

  /** Buildbot's stableTimerFired. */
  private async fire(name: string): Promise<void> {
    if (!this.active) return;
    try {
      await this.fenced(async (scope) => {
        const deadlines = await this.getState<Deadlines>(STATE, {}, scope.t);
        const at = deadlines[name];
        if (at === undefined) return;
        if (at > Date.now()) {
          scope.after(() => this.schedule(name, at));
          return;
        }
        delete deadlines[name];
        await this.setState(STATE, deadlines, scope.t);
        const mine = (await getChangeClassifications(this.deps.db, this.schedulerid, scope.t)).filter((c: Classification) => this.timerName(c) === name);
        if (mine.length === 0) return;
        const changeids = mine.map((c) => c.changeid).sort((a, b) => a - b);
        await this.buildsetForChanges(scope, changeids, this.config.reason);
        await flushChangeClassifications(this.deps.db, this.schedulerid, { changeids }, scope.t);
      });
    } catch (err) {
      this.logger.error({ event: 'scheduler.timerFailed', timer: name, err: (err as Error).stack ?? String(err) }, `scheduler ${this.name}: tree-stable timer failed: ${(err as Error).message}`);
      // Try again later: the deadline is still stored.
      this.later(this.deps.pollIntervalMs, () => void this.serial(() => this.fire(name)));
    }
  }
}
