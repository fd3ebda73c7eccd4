/**
 * Taking a build's or a step's locks (Buildbot's Build.acquireLocks / BuildStep.acquireLocks), held
 * in the database (lib/db/locks.ts) so they hold across masters. A list is taken whole or not at
 * all; while it cannot be, the holder waits: woken when this master releases a lock (the bus) and
 * by a jittered poll, because other masters release locks without telling this process. Waiting
 * ends at once when the build or step is stopped; whatever was taken is released by the holder's
 * `finally`, however it ends.
 */
import type { ResolvedLockAccess } from '../config/resolved.js';
import type { Database } from '../db/connection.js';
import { acquireLocks as dbAcquireLocks, locksAvailable, releaseBuildLocks, releaseStepLocks, type LockHolder, type LockRequest } from '../db/locks.js';
import { isRetryableDbError } from '../db/retry.js';
import { findOrCreateWorker } from '../db/workers.js';
import type { MessageBus } from '../master/bus.js';
import { backoffDelay } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import type { BuilderHandle, BuildRequestHandle, WorkerHandle } from './handles.js';

/** How often a waiter looks again without being woken (other masters' releases): about 1 s. */
export const LOCK_POLL_MS = 1_000;

/** Published after this master releases locks; waiters and the distributor wake on it. */
export const LOCKS_RELEASED: readonly string[] = ['locks', '*', 'released'];

export interface LockDeps {
  db: Database;
  bus: MessageBus;
  logger?: Logger;
  /** Poll interval while waiting (default LOCK_POLL_MS, jittered ±25 %). */
  pollMs?: number;
  random?: () => number;
}

/**
 * The database lock instances a list of accesses means on one worker: a WorkerLock is that
 * worker's copy, with its maxCountForWorker override (Buildbot's getLockForWorker).
 */
export function lockRequests(accesses: readonly ResolvedLockAccess[] | undefined, worker: { workerid: number; name: string }): LockRequest[] {
  return (accesses ?? []).map((a) => {
    const l = a.lock;
    const maxCount = l.kind === 'WorkerLock' ? (l.maxCountForWorker[worker.name] ?? l.maxCount) : l.maxCount;
    return {
      kind: l.kind,
      name: l.name,
      workerid: l.kind === 'WorkerLock' ? worker.workerid : 0,
      mode: a.mode,
      count: a.mode === 'exclusive' ? 1 : a.count,
      maxCount,
    };
  });
}

/** Buildbot's Build._canAcquireLocks, for canStartBuild: a hint; the build's acquire decides. */
export function canAcquireLocks(db: Database, requests: readonly LockRequest[]): Promise<boolean> {
  return requests.length === 0 ? Promise.resolve(true) : locksAvailable(db, requests);
}

export interface WaitOptions {
  /** Stops the wait (the build or step was stopped): the acquire then resolves false. */
  signal?: AbortSignal;
  /** Called once, when the first try fails and the holder starts waiting. */
  onWaiting?: (blockedBy: LockRequest) => void;
}

/**
 * Takes every lock of `requests` for `holder`, waiting as long as it takes. Resolves true when held,
 * false when `signal` aborted first (then nothing is held). DB errors propagate.
 */
export async function acquireLocksWaiting(deps: LockDeps, holder: LockHolder, requests: readonly LockRequest[], opts: WaitOptions = {}): Promise<boolean> {
  if (requests.length === 0) return true;
  const { signal } = opts;
  let wake: (() => void) | undefined;
  let woken = false;
  const unsubscribe = deps.bus.subscribe(LOCKS_RELEASED, () => {
    woken = true;
    wake?.();
  });
  try {
    let waiting = false;
    for (;;) {
      if (signal?.aborted) return false;
      woken = false;
      const outcome = await dbAcquireLocks(deps.db, holder, requests);
      if (outcome.acquired) {
        if (signal?.aborted) {
          // Stopped while the acquire ran: give it back before anyone waits on us.
          await releaseHeld(deps, holder);
          return false;
        }
        return true;
      }
      if (!waiting) {
        waiting = true;
        deps.logger?.info(
          { event: 'locks.waiting', buildid: holder.buildid, stepid: holder.stepid, lock: outcome.blockedBy.name, kind: outcome.blockedBy.kind },
          `waiting for ${outcome.blockedBy.kind} ${outcome.blockedBy.name}`,
        );
        opts.onWaiting?.(outcome.blockedBy);
      }
      // A release published while we were asking may be the one we need: ask again at once.
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const base = deps.pollMs ?? LOCK_POLL_MS;
        const timer = setTimeout(done, base * (0.75 + 0.5 * (deps.random ?? Math.random)()));
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        }
        wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    unsubscribe();
  }
}

async function releaseHeld(deps: LockDeps, holder: { buildid: number; stepid: number | null }): Promise<number> {
  return holder.stepid === null ? releaseBuildLocks(deps.db, holder.buildid) : releaseStepLocks(deps.db, holder.buildid, holder.stepid);
}

/**
 * Releases what the holder holds (a build: its steps' locks too) and, when something was, tells
 * this master's waiters and distributor. Idempotent. Never throws: when the database is away for
 * longer than a statement's own retries, it goes on trying in the background (a lock must not stay
 * held by a build that ended while the master lives; if the master stops or dies first, its
 * housekeeping releases it).
 */
export async function releaseLocks(deps: LockDeps, holder: { buildid: number; stepid: number | null }, attempt = 0): Promise<number> {
  try {
    const released = await releaseHeld(deps, holder);
    if (released > 0) deps.bus.publish(['locks', String(holder.buildid), 'released'], { buildid: holder.buildid, stepid: holder.stepid, released });
    return released;
  } catch (err) {
    const again = isRetryableDbError(err);
    deps.logger?.warn(
      { event: 'locks.releaseFailed', buildid: holder.buildid, stepid: holder.stepid, attempt, retrying: again, err: (err as Error).message },
      again ? 'could not release locks yet; retrying in the background' : 'could not release locks',
    );
    if (again) {
      const timer = setTimeout(() => void releaseLocks(deps, holder, attempt + 1), backoffDelay(attempt, 1_000, 30_000));
      timer.unref();
    }
    return 0;
  }
}

type CanStartBuild = (builder: BuilderHandle, worker: WorkerHandle, request: BuildRequestHandle) => unknown;

/** Worker ids by name never change: remembered per database handle. */
const workerIds = new WeakMap<Database, Map<string, number>>();

async function workerIdOf(db: Database, name: string): Promise<number> {
  let ids = workerIds.get(db);
  if (!ids) workerIds.set(db, (ids = new Map()));
  let id = ids.get(name);
  if (id === undefined) ids.set(name, (id = await findOrCreateWorker(db, name)));
  return id;
}

/**
 * Buildbot's Builder.canStartBuild for the distributor: a build whose builder locks are taken now
 * does not start (the distributor passes that worker over and tries again on a later pass), and
 * only then is the config's own canStartBuild asked. Without builder locks, the config's as is.
 * Make one per pass (the distributor does).
 */
export function withLockCheck(db: Database, accesses: readonly ResolvedLockAccess[] | undefined, user: CanStartBuild | undefined): CanStartBuild | undefined {
  if (!accesses || accesses.length === 0) return user;
  // Made per distributor pass: a worker whose locks are taken is not asked about again for each
  // of the other pending requests (availability does not depend on the request).
  const refused = new Set<string>();
  return async (builder, worker, request) => {
    if (refused.has(worker.name)) return false;
    const requests = lockRequests(accesses, { workerid: await workerIdOf(db, worker.name), name: worker.name });
    if (!(await canAcquireLocks(db, requests))) {
      refused.add(worker.name);
      return false;
    }
    return user ? user(builder, worker, request) : true;
  };
}
