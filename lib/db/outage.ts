/**
 * Whether the database can be reached, for everyone who writes to it: one tracker per Database
 * (`dbAvailability(db)`). A write that fails with a connection error (lib/db/retry.ts: refused,
 * reset, lost, server shutdown…) reports it with `noteFailure`; the tracker then marks the database
 * unavailable, logs that once per outage (`db.unavailable`), and probes it with a capped, jittered
 * backoff until a probe succeeds (`db.available`, with how long it was gone). Writers wait with
 * `waitUntilAvailable()` instead of each hammering the server on its own; claimers skip their
 * passes while `available` is false.
 *
 *   const avail = dbAvailability(db);
 *   try { await write(); } catch (err) { if (!avail.noteFailure(err)) throw err; await avail.waitUntilAvailable(); … }
 */
import { BuildmasterError } from '../errors/index.js';
import { backoffDelay } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import type { Database } from './connection.js';
import { select } from './query.js';
import { isConnectionError } from './retry.js';

export interface AvailabilityOptions {
  /** First probe delay ceiling (ms), doubling per failed probe (default 200). */
  probeBaseMs?: number;
  /** Longest wait between probes (ms, default 3000). */
  probeMaxMs?: number;
}

type Listener = (available: boolean) => void;

export class DbAvailability {
  private outage: { since: number; err: string; probes: number } | undefined;
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private listeners = new Set<Listener>();
  private resumeHooks = new Set<() => Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private stopped = false;
  /** Outages seen so far (for tests and metrics). */
  outages = 0;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly opts: AvailabilityOptions = {},
  ) {}

  get available(): boolean {
    return this.outage === undefined;
  }

  /** Milliseconds the current outage has lasted (0 when available). */
  get downForMs(): number {
    return this.outage ? Date.now() - this.outage.since : 0;
  }

  /**
   * True when `err` says the database cannot be reached: it is then marked unavailable (the first
   * report of an outage is logged, later ones are not) and probed until it answers again. False
   * for any other error, which the caller handles as before.
   */
  noteFailure(err: unknown): boolean {
    if (!isConnectionError(err)) return false;
    if (this.outage || this.stopped) return true;
    const message = (err as Error)?.message ?? String(err);
    this.outage = { since: Date.now(), err: message, probes: 0 };
    this.outages++;
    this.logger.error(
      { event: 'db.unavailable', where: this.db.description, err: message },
      `the database is unreachable (${message}); running builds go on, their writes wait, no new requests are claimed`,
    );
    this.emit(false);
    this.scheduleProbe();
    return true;
  }

  /** Resolves at once while available, else when the database answers again (rejects on `signal` or stop). */
  waitUntilAvailable(signal?: AbortSignal): Promise<void> {
    if (!this.outage) return Promise.resolve();
    if (this.stopped) return Promise.reject(new BuildmasterError('the database is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Called with false when an outage begins and true when it ends; returns the unsubscribe. */
  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Runs `fn` when the database answers again, before any waiting writer resumes (e.g. the master
   * checks that no other master declared it dead meanwhile, and stops its builds RETRY if one did).
   * A hook that fails with a connection error counts as a failed probe. Returns the unsubscribe.
   */
  beforeResume(fn: () => Promise<void>): () => void {
    this.resumeHooks.add(fn);
    return () => this.resumeHooks.delete(fn);
  }

  /** Stops probing and fails the waiters (the database is being closed). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w.reject(new BuildmasterError('the database is closed'));
  }

  private emit(available: boolean): void {
    for (const fn of this.listeners) {
      try {
        fn(available);
      } catch (err) {
        this.logger.warn({ event: 'db.availabilityListenerFailed', err: (err as Error)?.message }, 'a database availability listener threw');
      }
    }
  }

  private scheduleProbe(): void {
    if (this.stopped || !this.outage || this.timer || this.probing) return;
    const delay = backoffDelay(this.outage.probes, this.opts.probeBaseMs ?? 200, this.opts.probeMaxMs ?? 3_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probe();
    }, delay);
    // A master is kept alive by its own timers; a bare tracker must not hold a process open.
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    if (this.stopped || !this.outage) return;
    this.probing = true;
    let ok = false;
    try {
      // A transaction, because a bare select would retry a lost connection itself; one attempt here.
      await this.db.transaction((t) => select(this.db, 'SELECT 1 AS one', [], t), { retry: false, driverOnly: true });
      for (const hook of this.resumeHooks) {
        try {
          await hook();
        } catch (err) {
          if (isConnectionError(err)) throw err;
          this.logger.error({ event: 'db.resumeHookFailed', err: (err as Error)?.message ?? String(err) }, 'a check run as the database came back failed');
        }
      }
      ok = true;
    } catch (err) {
      if (/database is closed|connection manager was closed/i.test((err as Error)?.message ?? '')) this.stop();
    } finally {
      this.probing = false;
    }
    const outage = this.outage;
    if (!outage || this.stopped) return;
    if (!ok) {
      outage.probes++;
      this.scheduleProbe();
      return;
    }
    this.outage = undefined;
    const downMs = Date.now() - outage.since;
    this.logger.warn({ event: 'db.available', where: this.db.description, downMs, probes: outage.probes + 1 }, `the database is reachable again after ${Math.round(downMs / 100) / 10} s`);
    for (const w of this.waiters.splice(0)) w.resolve();
    this.emit(true);
  }
}

const trackers = new WeakMap<Database, DbAvailability>();

/** The availability tracker of `db` (made at first use, logging through the database's logger). */
export function dbAvailability(db: Database, opts?: AvailabilityOptions): DbAvailability {
  let t = trackers.get(db);
  if (!t) trackers.set(db, (t = new DbAvailability(db, db.logger, opts)));
  return t;
}
