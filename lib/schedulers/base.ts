/**
 * What every scheduler shares (Buildbot's BaseScheduler + ClusteredBuildbotService + StateMixin):
 *
 * - Clustering: a scheduler runs (is "active") on exactly one master, the one whose row is in
 *   scheduler_masters. Every master tries to insert that row when it starts the scheduler and
 *   again every claimIntervalMs; the primary key admits one. The holder checks the row on the same
 *   beat and inside every transaction that acts (the fence), so a master whose claim was taken
 *   over — it was declared dead — acts no more.
 * - State in object_state under (name, Buildbot's class name), read and written inside the
 *   fenced transaction together with what it describes.
 * - Changes: an active scheduler reads changes with id above its stored mark `lastChangeId`,
 *   woken by this master's bus (['changes', id, 'new']) and by a poll (other masters' change
 *   sources and hooks are invisible to our bus), and advances the mark in the transaction that
 *   records what it made of them; so a takeover neither drops nor repeats a change.
 * - One thing at a time: the claim beat, polls, timers and stop run one after another.
 */
import { dbAvailability } from '../db/outage.js';
import type { DbTransaction as Transaction } from '../db/connection.js';
import type { ResolvedScheduler } from '../config/resolved.js';
import type { CodebaseDefaults } from '../config/schedulers.js';
import { changeFilterMatches } from '../config/changeFilter.js';
import type { PropertyMap } from '../db/buildsets.js';
import {
  claimScheduler,
  findSchedulerId,
  getChangesAfter,
  getChangesByIds,
  getScheduler,
  holdsScheduler,
  maxChangeId,
  releaseScheduler,
  type SchedulerChange,
} from '../db/schedulers.js';
import { getSourcestamp, patchBody, type SourcestampSpec } from '../db/sourcestamps.js';
import { getObjectId, getState, initState, setState } from '../db/state.js';
import type { Logger } from '../util/log.js';
import { addBuildsetIn, announceBuildset, type AddedSchedulerBuildset, type SchedulerBuildsetSpec } from './buildsets.js';
import { IdFeed, DEFAULT_GAP_GRACE_MS } from './idFeed.js';
import type { StampRef } from './triggerTypes.js';
import { changeHandle, type SchedulerDeps } from './types.js';

const CHANGE_BATCH = 200;

/** A transaction in which this master still runs the scheduler. */
export interface Scope {
  readonly t: Transaction;
  /** Run after the commit (never if it rolls back). */
  after(fn: () => unknown): void;
  /** Insert a buildset now; it is announced after the commit. */
  addBuildset(spec: Omit<SchedulerBuildsetSpec, 'builderNames'> & { builderNames?: readonly unknown[] }): Promise<AddedSchedulerBuildset>;
}

export interface MatchedChange {
  change: SchedulerChange;
  important: boolean;
}

/** Thrown inside a fenced transaction when the claim is gone: rolls it back. */
class LostClaim extends Error {}

export abstract class BaseScheduler<C extends ResolvedScheduler = ResolvedScheduler> {
  readonly name: string;
  readonly logger: Logger;
  schedulerid = -1;
  objectid = -1;
  private activeFlag = false;
  private stopped = false;
  private chain: Promise<unknown> = Promise.resolve();
  private beat: NodeJS.Timeout | undefined;
  // The change feed, while it runs.
  private feedOn = false;
  private readonly changeFeed = new IdFeed();
  private unsubscribeChanges: (() => void) | undefined;
  private changePoll: NodeJS.Timeout | undefined;
  private changePollQueued = false;
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(
    protected readonly deps: SchedulerDeps,
    readonly config: C,
    /** Buildbot's class name: the `objects` row of the scheduler's state is (name, className). */
    readonly className: string,
  ) {
    this.name = config.name;
    this.logger = deps.logger.child({ component: 'scheduler', scheduler: config.name });
  }

  get kind(): C['kind'] {
    return this.config.kind;
  }

  /** True while this master runs the scheduler. */
  get active(): boolean {
    return this.activeFlag;
  }

  /** Registers the scheduler and starts trying to claim it. */
  async start(): Promise<void> {
    const { db } = this.deps;
    this.schedulerid = await findSchedulerId(db, this.name);
    this.objectid = await getObjectId(db, this.name, this.className);
    await this.prepare();
    await this.serial(() => this.claimBeat());
    this.beat = setInterval(() => void this.serial(() => this.claimBeat()), this.deps.claimIntervalMs);
  }

  /** Stops acting and gives the claim up, so another master can take it at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.beat);
    await this.serial(async () => {
      await this.deactivateNow('stopping');
      await releaseScheduler(this.deps.db, this.schedulerid, this.deps.masterid).catch((err: unknown) =>
        this.logger.warn({ event: 'scheduler.releaseFailed', err: (err as Error).message }, 'could not release the scheduler claim'),
      );
    });
  }

  /** Once, before the first claim (e.g. the change mark of a new scheduler). */
  protected async prepare(): Promise<void> {}
  /** This master now runs the scheduler. */
  protected async activate(): Promise<void> {}
  /** It does not any more: stop timers. */
  protected async deactivate(): Promise<void> {}

  /** Resolves once everything queued so far (claim beats, polls, timers) has run. */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Runs `fn` after everything queued before it (Buildbot's locks around activation, changes and timers). */
  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async claimBeat(): Promise<void> {
    if (this.stopped) return;
    const { db, masterid } = this.deps;
    try {
      const row = await getScheduler(db, this.schedulerid);
      const enabled = row?.enabled !== 0;
      if (this.activeFlag) {
        if (row?.masterid !== masterid) await this.deactivateNow('its claim was taken over (this master was considered dead)');
        else if (!enabled) await this.deactivateNow('disabled');
        return;
      }
      const { claimed, owner } = await claimScheduler(db, this.schedulerid, masterid);
      if (!claimed) {
        this.logger.trace({ event: 'scheduler.claimedElsewhere', owner }, `scheduler ${this.name} runs on master ${owner}`);
        return;
      }
      if (!enabled) return; // held, but idle until enabled again
      this.activeFlag = true;
      try {
        await this.activate();
      } catch (err) {
        this.activeFlag = false;
        throw err;
      }
      if (!this.activeFlag) return; // lost the claim while activating
      this.logger.info({ event: 'scheduler.activated', schedulerid: this.schedulerid }, `scheduler ${this.name} is active on this master`);
      this.deps.bus.publish(['schedulers', String(this.schedulerid), 'started'], { schedulerid: this.schedulerid, name: this.name, masterid });
    } catch (err) {
      // A DB outage is reported once by the availability tracker; the next claim pass retries.
      if (dbAvailability(this.deps.db).noteFailure(err)) return;
      this.logger.error({ event: 'scheduler.claimFailed', err: (err as Error).stack ?? String(err) }, `scheduler ${this.name}: ${(err as Error).message}`);
    }
  }

  private async deactivateNow(why: string): Promise<void> {
    if (!this.activeFlag) return;
    this.activeFlag = false;
    this.stopChangeFeed();
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    try {
      await this.deactivate();
    } catch (err) {
      this.logger.error({ event: 'scheduler.deactivateFailed', err: (err as Error).message }, 'deactivating failed');
    }
    this.logger.info({ event: 'scheduler.deactivated', why }, `scheduler ${this.name} is no longer active here: ${why}`);
    this.deps.bus.publish(['schedulers', String(this.schedulerid), 'stopped'], { schedulerid: this.schedulerid, name: this.name, masterid: this.deps.masterid });
  }

  /**
   * Runs `fn` in a transaction that first checks this master still holds the claim (and keeps it
   * locked on MySQL). Returns undefined, having deactivated, when it does not. Work given to
   * `after` runs once the transaction has committed.
   */
  protected async fenced<T>(fn: (scope: Scope) => Promise<T>): Promise<{ value: T } | undefined> {
    const { db, masterid } = this.deps;
    let after: (() => unknown)[] = [];
    let value: T;
    try {
      value = await db.transaction(async (t) => {
        after = []; // a retried transaction starts again
        if (!(await holdsScheduler(db, this.schedulerid, masterid, t))) throw new LostClaim();
        const scope: Scope = {
          t,
          after: (f) => void after.push(f),
          addBuildset: async (spec) => {
            const added = await addBuildsetIn(this.deps, this.name, { builderNames: this.config.builderNames, ...spec }, t);
            after.push(() => announceBuildset(this.deps.buildsetContext, added));
            return added;
          },
        };
        return fn(scope);
      });
    } catch (err) {
      if (!(err instanceof LostClaim)) throw err;
      await this.deactivateNow('its claim was taken over (this master was considered dead)');
      return undefined;
    }
    for (const f of after) {
      try {
        await f();
      } catch (err) {
        this.logger.error({ event: 'scheduler.afterCommitFailed', err: (err as Error).stack ?? String(err) }, `scheduler ${this.name}: ${(err as Error).message}`);
      }
    }
    return { value };
  }

  /** Runs `fn` later unless the scheduler is deactivated first. */
  protected later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.activeFlag) fn();
    }, ms);
    this.retryTimers.add(timer);
  }

  // --- state ---

  protected getState<T>(name: string, dflt: T, t?: Transaction): Promise<T> {
    return getState(this.deps.db, this.objectid, name, dflt, t);
  }

  protected setState(name: string, value: unknown, t?: Transaction): Promise<void> {
    return setState(this.deps.db, this.objectid, name, value, t);
  }

  // --- changes ---

  /** A scheduler that consumes changes sets its mark when first created: it builds what comes after. */
  protected async initChangeMark(): Promise<void> {
    const { db } = this.deps;
    await initState(db, this.objectid, 'lastChangeId', await maxChangeId(db));
  }

  /** Moves the mark to the newest change (a scheduler that ignores changes for now, as Buildbot's). */
  protected async skipChanges(scope: Scope): Promise<void> {
    await this.setState('lastChangeId', await maxChangeId(this.deps.db, scope.t), scope.t);
  }

  /** What the scheduler makes of new changes that passed its filter, inside the fenced transaction. */
  protected async gotChanges(_changes: MatchedChange[], _scope: Scope): Promise<void> {}

  protected startChangeFeed(): void {
    if (this.feedOn || !this.activeFlag) return;
    this.feedOn = true;
    this.changeFeed.reset();
    this.unsubscribeChanges = this.deps.bus.subscribe(['changes', '*', 'new'], () => this.requestChangePoll());
    this.changePoll = setInterval(() => this.requestChangePoll(), this.deps.pollIntervalMs);
    this.requestChangePoll();
  }

  private stopChangeFeed(): void {
    this.feedOn = false;
    this.unsubscribeChanges?.();
    this.unsubscribeChanges = undefined;
    clearInterval(this.changePoll);
  }

  /** Look for new changes soon (coalesced: one poll queued at a time). */
  protected requestChangePoll(): void {
    if (this.changePollQueued || !this.feedOn) return;
    this.changePollQueued = true;
    void this.serial(async () => {
      this.changePollQueued = false;
      if (!this.feedOn || !this.activeFlag) return;
      try {
        await this.pollChanges();
      } catch (err) {
        this.logger.error({ event: 'scheduler.changePollFailed', err: (err as Error).stack ?? String(err) }, `scheduler ${this.name}: reading changes failed: ${(err as Error).message}`);
      }
    });
  }

  private async pollChanges(): Promise<void> {
    const { db } = this.deps;
    const r = await this.fenced(async (scope) => {
      const mark = await this.getState<number | null>('lastChangeId', null, scope.t);
      if (mark === null) {
        await this.skipChanges(scope);
        return { more: false, waiting: false };
      }
      const rows = await getChangesAfter(db, mark, CHANGE_BATCH, scope.t);
      const step = this.changeFeed.step(mark, rows, (c) => c.changeid);
      const matched: MatchedChange[] = [];
      for (const change of step.accepted) {
        const important = this.classify(change);
        if (important !== undefined) matched.push({ change, important });
      }
      if (matched.length > 0) await this.gotChanges(matched, scope);
      if (step.mark !== mark) await this.setState('lastChangeId', step.mark, scope.t);
      return { more: rows.length === CHANGE_BATCH && !step.waiting, waiting: step.waiting };
    });
    if (r?.value.more) this.requestChangePoll();
    else if (r?.value.waiting) this.later(DEFAULT_GAP_GRACE_MS, () => this.requestChangePoll());
  }

  /**
   * Buildbot's change path: change_filter → a codebase this scheduler builds → fileIsImportant
   * (an unimportant change is dropped when onlyImportant). Undefined: not for this scheduler.
   */
  protected classify(change: SchedulerChange): boolean | undefined {
    const c = this.config as Partial<{ change_filter: Parameters<typeof changeFilterMatches>[0] | null; fileIsImportant: (c: unknown) => boolean; onlyImportant: boolean }>;
    const handle = changeHandle(change);
    try {
      if (c.change_filter && !changeFilterMatches(c.change_filter, handle)) return undefined;
    } catch (err) {
      this.logger.error({ event: 'scheduler.filterFailed', changeid: change.changeid, err: (err as Error).message }, `change_filter of ${this.name} threw: ${(err as Error).message}`);
      return undefined;
    }
    if (!(change.codebase in this.config.codebases)) {
      this.logger.debug({ event: 'scheduler.otherCodebase', changeid: change.changeid, codebase: change.codebase }, 'change for a codebase this scheduler does not build');
      return undefined;
    }
    if (!c.fileIsImportant) return true;
    try {
      const important = Boolean(c.fileIsImportant(handle));
      if (!important && c.onlyImportant) return undefined;
      return important;
    } catch (err) {
      this.logger.error({ event: 'scheduler.fileIsImportantFailed', changeid: change.changeid, err: (err as Error).message }, `fileIsImportant of ${this.name} threw: ${(err as Error).message}`);
      return undefined;
    }
  }

  // --- buildsets ---

  /** Scheduler properties (source 'Scheduler') with `scheduler` = its name. */
  protected schedulerProperties(): PropertyMap {
    const props: PropertyMap = {};
    for (const [k, v] of Object.entries(this.config.properties)) props[k] = [v, 'Scheduler'];
    props.scheduler = [this.name, 'Scheduler'];
    return props;
  }

  /**
   * Buildbot's getCodebaseDict: what a codebase without a change builds; with
   * createAbsoluteSourceStamps, the last change seen on it (state `lastCodebases`).
   */
  protected async codebaseDefaults(codebase: string, t?: Transaction): Promise<CodebaseDefaults> {
    const configured = this.config.codebases[codebase] ?? {};
    if (!this.absoluteStamps()) return configured;
    const last = await this.getState<Record<string, CodebaseDefaults>>('lastCodebases', {}, t);
    return last[codebase] ?? configured;
  }

  protected absoluteStamps(): boolean {
    return Boolean((this.config as { createAbsoluteSourceStamps?: boolean }).createAbsoluteSourceStamps);
  }

  /** Buildbot's recordChange (AbsoluteSourceStampsMixin): remember the newest change per codebase. */
  protected async recordChanges(changes: readonly SchedulerChange[], t: Transaction): Promise<void> {
    const last = await this.getState<Record<string, CodebaseDefaults & { lastChange?: number }>>('lastCodebases', {}, t);
    let changed = false;
    for (const c of changes) {
      if (c.changeid <= (last[c.codebase]?.lastChange ?? -1)) continue;
      last[c.codebase] = { repository: c.repository, branch: c.branch, revision: c.revision, lastChange: c.changeid };
      changed = true;
    }
    if (changed) await this.setState('lastCodebases', last, t);
  }

  protected async defaultStamp(codebase: string, t?: Transaction): Promise<SourcestampSpec> {
    const cb = await this.codebaseDefaults(codebase, t);
    return { codebase, repository: cb.repository ?? '', branch: cb.branch ?? null, revision: cb.revision ?? null, project: '' };
  }

  /**
   * Buildbot's addBuildsetForChanges: per codebase (sorted) the stamp of its newest change, else
   * its defaults; properties: the scheduler's, then those of the changes built (newest wins).
   */
  protected async buildsetForChanges(scope: Scope, changeids: readonly number[], reason: string): Promise<AddedSchedulerBuildset> {
    const changes = await getChangesByIds(this.deps.db, changeids, scope.t);
    const newest = new Map<string, SchedulerChange>();
    for (const c of changes) {
      const prev = newest.get(c.codebase);
      if (!prev || c.changeid > prev.changeid) newest.set(c.codebase, c);
    }
    const sourcestamps: (number | SourcestampSpec)[] = [];
    for (const codebase of Object.keys(this.config.codebases).sort()) {
      const c = newest.get(codebase);
      sourcestamps.push(c ? c.sourcestampid : await this.defaultStamp(codebase, scope.t));
    }
    const properties = this.schedulerProperties();
    for (const c of [...newest.values()].sort((a, b) => a.changeid - b.changeid)) Object.assign(properties, c.properties);
    return scope.addBuildset({ sourcestamps, reason, properties });
  }

  /**
   * Buildbot's addBuildsetForSourceStampsWithDefaults: one stamp per configured codebase (its
   * defaults under what was given for it), plus the given stamps of other codebases. A given
   * stamp id is used as is.
   */
  protected async stampsWithDefaults(given: readonly (SourcestampSpec | StampRef)[], t?: Transaction): Promise<(number | SourcestampSpec)[]> {
    const byCodebase = new Map<string, SourcestampSpec | StampRef>();
    for (const ss of given) byCodebase.set(ss.codebase ?? '', ss);
    const out: (number | SourcestampSpec)[] = [];
    const merge = async (codebase: string): Promise<number | SourcestampSpec> => {
      const ss = byCodebase.get(codebase);
      if (ss && 'ssid' in ss) return this.resolveStampRef(ss, t);
      return { ...(await this.defaultStamp(codebase, t)), ...(ss ?? {}), codebase };
    };
    for (const codebase of Object.keys(this.config.codebases)) out.push(await merge(codebase));
    for (const codebase of byCodebase.keys()) if (!(codebase in this.config.codebases)) out.push(await merge(codebase));
    return out;
  }

  /** A stamp by id, or a copy of it (patch included) at another revision. */
  protected async resolveStampRef(ref: StampRef, t?: Transaction): Promise<number | SourcestampSpec> {
    if (ref.revision === undefined) return ref.ssid;
    const row = await getSourcestamp(this.deps.db, ref.ssid, t);
    if (!row) return { ...(await this.defaultStamp(ref.codebase, t)), codebase: ref.codebase, revision: ref.revision };
    if (row.revision === ref.revision) return row.id;
    const patch = row.patch
      ? { body: patchBody(row.patch), level: row.patch.patchlevel, author: row.patch.patch_author, comment: row.patch.patch_comment, subdir: row.patch.subdir }
      : null;
    return { codebase: row.codebase, repository: row.repository, branch: row.branch, project: row.project, revision: ref.revision, patch };
  }
}
