import { EventEmitter } from 'node:events';
import type { DbTransaction as Transaction } from '../db/connection.js';
import { claimChangesource, findOrCreateChangesource, holdsChangesource, releaseChangesources } from '../db/changesources.js';
import type { Database } from '../db/connection.js';
import type { PushSpec } from '../db/pushes.js';
import { epochSeconds } from '../db/query.js';
import { getObjectId, getState, setState } from '../db/state.js';
import type { MessageBus } from '../master/bus.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import { ClaimLostError } from './claimLostError.js';
import { submitPush } from './submitPush.js';

export interface PollerDeps {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  masterid: number;
  /** The master directory (relative workdirs are taken from it). */
  basedir: string;
  /** Seconds: a master silent this long loses its change sources to us. */
  deadMasterTimeout: number;
  /** First retry after a failed poll (default 10 s; never more than pollInterval). */
  retryBaseMs?: number;
}

export interface PollerTiming {
  name: string;
  /** Seconds. */
  pollInterval: number;
  pollAtLaunch: boolean;
  pollRandomDelayMin: number;
  pollRandomDelayMax: number;
}

export type PollOutcome = { ok: true; skipped?: 'not claimed' | 'stopped' } | { ok: false; error: Error };

/** What a poll may do with the database: read its state, store pushes and state atomically. */
export interface PollContext {
  readonly signal: AbortSignal;
  loadState<T>(key: string, dflt: T): Promise<T>;
  /** Stores the push and the new state values in one transaction, while we still hold the claim. */
  submit(push: PushSpec, state: Record<string, unknown>): Promise<{ pushid: number; changeids: number[] }>;
  /** Stores state values alone, the same way. */
  saveState(state: Record<string, unknown>): Promise<void>;
}

/**
 * A polling change source (Buildbot's PollingChangeSource with ClusteredBuildbotService): it runs
 * on the one master that holds its changesource_masters claim. Every interval each master running
 * it tries to claim it (the holder keeps it; a dead holder's claim is taken over) and the holder
 * polls. A failed poll is logged with its reason and retried sooner, with capped backoff; it never
 * stops the master.
 *
 * Events: 'polled' (PollOutcome) after each poll attempt, 'claimed' and 'released'.
 */
export abstract class Poller extends EventEmitter {
  readonly name: string;
  changesourceid: number | undefined;
  /** Consecutive failed polls. */
  failures = 0;
  lastError: Error | undefined;
  protected readonly logger: Logger;
  private objectid: number | undefined;
  private active = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    protected readonly deps: PollerDeps,
    protected readonly timing: PollerTiming,
    /** Buildbot's class name: the objects row of its state is (name, className). */
    readonly className: string,
  ) {
    super();
    this.name = timing.name;
    this.logger = deps.logger.child({ component: 'changes', changeSource: timing.name });
  }

  /** One poll: find what is new and submit it through `ctx`. */
  protected abstract poll(ctx: PollContext): Promise<void>;

  /** A line for logs: what this source watches. */
  abstract describe(): string;

  /** True while this master runs the change source. */
  isActive(): boolean {
    return this.active;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops polling (a running git/hg command is killed) and gives up the claim. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
    await this.queue.catch(() => undefined);
    if (this.active && this.changesourceid !== undefined) {
      this.active = false;
      await releaseChangesources(this.deps.db, this.deps.masterid, [this.changesourceid]).catch((err: unknown) =>
        this.logger.warn({ event: 'changes.releaseFailed', err: (err as Error).message }, 'could not release the change source claim'),
      );
      this.emit('released');
    }
  }

  /** Claims (if it can) and polls now, after any poll in progress; for tests and operators. */
  pollNow(): Promise<PollOutcome> {
    return this.serialized(async () => ((await this.ensureClaim()) ? this.pollGuarded() : { ok: true, skipped: 'not claimed' }));
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(): Promise<void> {
    this.logger.info({ event: 'changes.started', className: this.className }, `starting ${this.describe()}`);
    let first = true;
    while (!this.stopped) {
      const outcome = await this.serialized(async () => {
        const claimed = await this.ensureClaim();
        // A change source taken over polls at once; the first one polls at launch only if asked.
        if (!claimed || (first && !this.timing.pollAtLaunch)) return undefined;
        return this.pollGuarded();
      });
      first = false;
      await sleep(this.nextDelayMs(outcome), this.abort.signal).catch(() => undefined);
    }
  }

  private nextDelayMs(outcome: PollOutcome | undefined): number {
    const interval = this.timing.pollInterval * 1000;
    if (outcome && !outcome.ok) {
      const base = Math.min(interval, this.deps.retryBaseMs ?? 10_000);
      return backoffDelay(this.failures - 1, base, Math.max(base, interval));
    }
    const { pollRandomDelayMin: min, pollRandomDelayMax: max } = this.timing;
    return interval + (min + Math.random() * (max - min)) * 1000;
  }

  /** Holds the claim after this? Errors count as "no": we poll only what we surely hold. */
  private async ensureClaim(): Promise<boolean> {
    if (this.stopped) return false;
    try {
      this.changesourceid ??= await findOrCreateChangesource(this.deps.db, this.name);
      const claim = await claimChangesource(this.deps.db, this.changesourceid, this.deps.masterid, epochSeconds() - this.deps.deadMasterTimeout);
      const was = this.active;
      this.active = claim !== 'conflict';
      if (this.active && !was) {
        this.logger.info({ event: 'changes.claimed', changesourceid: this.changesourceid, takeover: claim === 'claimed' }, `this master now runs change source ${this.name}`);
        this.emit('claimed');
      } else if (!this.active && was) {
        this.logger.warn({ event: 'changes.claimLost', changesourceid: this.changesourceid }, `change source ${this.name} is now run by another master`);
        this.emit('released');
      }
      return this.active;
    } catch (err) {
      this.logger.warn({ event: 'changes.claimFailed', err: (err as Error).message }, `could not claim change source ${this.name}: ${(err as Error).message}`);
      return false;
    }
  }

  private async pollGuarded(): Promise<PollOutcome> {
    if (this.stopped) return { ok: true, skipped: 'stopped' };
    let outcome: PollOutcome;
    try {
      await this.poll(this.context());
      if (this.failures > 0) this.logger.info({ event: 'changes.pollRecovered', failures: this.failures }, `${this.name}: polling works again`);
      this.failures = 0;
      this.lastError = undefined;
      outcome = { ok: true };
    } catch (err) {
      if (err instanceof ClaimLostError) {
        this.active = false;
        this.logger.warn({ event: 'changes.claimLost' }, err.message);
        this.emit('released');
        outcome = { ok: true, skipped: 'not claimed' };
      } else if (this.stopped) {
        outcome = { ok: true, skipped: 'stopped' };
      } else {
        this.failures++;
        this.lastError = err as Error;
        this.logger.warn(
          { event: 'changes.pollFailed', failures: this.failures, err: (err as Error).message },
          `polling ${this.name} failed (attempt ${this.failures}; retrying with backoff): ${(err as Error).message}`,
        );
        outcome = { ok: false, error: err as Error };
      }
    }
    this.emit('polled', outcome);
    return outcome;
  }

  private async objectId(): Promise<number> {
    this.objectid ??= await getObjectId(this.deps.db, this.name, this.className);
    return this.objectid;
  }

  /** Inside a storing transaction: still ours? Then write the state values. */
  private async commitState(t: Transaction, state: Record<string, unknown>): Promise<void> {
    if (!(await holdsChangesource(this.deps.db, this.changesourceid!, this.deps.masterid, t))) throw new ClaimLostError(this.name);
    const objectid = await this.objectId();
    for (const [key, value] of Object.entries(state)) await setState(this.deps.db, objectid, key, value, t);
  }

  private context(): PollContext {
    const { db, bus } = this.deps;
    return {
      signal: this.abort.signal,
      loadState: async <T>(key: string, dflt: T) => getState<T>(db, await this.objectId(), key, dflt),
      submit: async (push, state) => {
        await this.objectId();
        return submitPush({ db, bus, logger: this.logger }, push, { inTransaction: (t) => this.commitState(t, state) });
      },
      saveState: async (state) => {
        await this.objectId();
        await db.transaction((t) => this.commitState(t, state));
      },
    };
  }
}
