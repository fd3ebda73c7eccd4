/**
 * The build request distributor (Buildbot's BuildRequestDistributor): hands pending requests to
 * builders and workers. It runs a pass when something may have changed — a request was added or
 * unclaimed, a worker connected or came free, a build finished — and every second anyway, because
 * other masters add and release requests without telling this process. One pass runs at a time;
 * wake-ups during a pass collapse into one more pass after it.
 *
 * A pass reads only pending requests (indexed): its cost follows the queue, never the history.
 *   0. Nothing at all while no worker is free for any builder (the usual state under load).
 *   1. Builders of this master with pending requests (and their oldest one's time, one statement)
 *      and at least one worker free for them.
 *   2. Ordered by prioritizeBuilders (default: oldest pending request first, then name).
 *   3. Per builder that still has a free worker, its pending requests — as many as its free
 *      workers can take, unless nextBuild or canStartBuild want to see more — and a WorkerChooser
 *      proposes (worker, request) pairs; each request is claimed (a unique insert: exactly one
 *      master wins) and, when won, its build started. A lost claim is normal — another master
 *      took it — so we re-read the queue and carry on.
 */
import type { ResolvedBuilder } from '../config/resolved.js';
import type { PrioritizeBuildersFn } from '../config/types.js';
import type { Database } from '../db/connection.js';
import { dbAvailability } from '../db/outage.js';
import {
  claimRequests,
  getPendingRequests,
  pendingOldestByBuilder,
  unclaimRequests,
  type BuildrequestRow,
  type BuildrequestWithClaim,
} from '../db/buildrequests.js';
import type { MessageBus } from '../master/bus.js';
import type { Logger } from '../util/log.js';
import type { BuildsetCache } from './buildsetCache.js';
import { RequestHandleLoader, type BuilderHandle, type WorkerHandle } from './handles.js';
import { LOCKS_RELEASED, withLockCheck } from './locks.js';
import { publishRequest, publishRequestRow } from './messages.js';
import { WorkerChooser } from './workerChooser.js';

export interface DistributorBuilder {
  builderid: number;
  name: string;
  config: ResolvedBuilder;
}

/** What the distributor asks about workers (the master's WorkerManager answers). */
export interface WorkerPool {
  /** Connected, not paused or quarantined, under maxBuilds, and not already building this builder. */
  isAvailable(name: string, builderid: number): boolean;
  handle(name: string): WorkerHandle | undefined;
}

export interface DistributorDeps {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  masterid: number;
  builders: readonly DistributorBuilder[];
  workers: WorkerPool;
  prioritizeBuilders?: PrioritizeBuildersFn;
  /** Passed to prioritizeBuilders as its `master` argument. */
  master?: unknown;
  /**
   * Start the build of claimed requests on the worker; false (or a throw) when it could not start, and
   * the distributor then unclaims the requests. Must count the worker as busy before it resolves.
   * The rows carry the claim just made (claimed_by_masterid, claimed_at).
   */
  startBuild(builder: DistributorBuilder, worker: WorkerHandle, requests: BuildrequestRow[]): Promise<boolean>;
  /** Default 1000. */
  pollIntervalMs?: number;
  /** Pending requests read per builder and pass (default 500): a deep queue costs no more than this. */
  pendingLimit?: number;
  /** Epoch seconds. */
  now?: () => number;
  random?: () => number;
  /** The master's cache of buildsets, for request handles (optional). */
  buildsets?: BuildsetCache;
  /**
   * Claim only while this master's row is active (claimRequests' onlyWhileActive): a master that
   * others declared dead claims nothing more. The Master sets it; bare distributors in tests need not.
   */
  fenceClaims?: boolean;
  /** Told of each claim attempt: its request, whether this master won it, and how long it took (ms). For metrics and benchmarks. */
  onClaim?: (brid: number, won: boolean, ms: number) => void;
}

const WAKE_EVENTS: readonly (readonly string[])[] = [
  ['buildrequests', '*', 'new'],
  ['buildrequests', '*', 'unclaimed'],
  ['workers', '*', 'connected'],
  ['builds', '*', 'finished'],
  LOCKS_RELEASED,
];

export class Distributor {
  private readonly logger: Logger;
  private readonly byId: Map<number, DistributorBuilder>;
  private unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** Passes run so far (for tests and metrics). */
  passes = 0;

  constructor(private readonly deps: DistributorDeps) {
    this.logger = deps.logger.child({ component: 'distributor' });
    this.byId = new Map(deps.builders.map((b) => [b.builderid, b]));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = WAKE_EVENTS.map((p) => this.deps.bus.subscribe(p, () => this.wake()));
    this.timer = setInterval(() => this.wake(), this.deps.pollIntervalMs ?? 1000);
    this.timer.unref();
    this.wake();
  }

  /** Ask for a pass; returns at once. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when no pass is running or due (tests await this instead of sleeping). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stop claiming: no pass starts after this, and the current one ends before it resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.idle();
  }

  private async loop(): Promise<void> {
    const avail = dbAvailability(this.deps.db);
    do {
      this.again = false;
      // No claims while the DB is unreachable: the tracker probes it, and its return wakes us.
      if (!avail.available) {
        this.wakeOnReturn(avail);
        return;
      }
      try {
        if (this.uncertainClaims.size > 0) await this.releaseUncertainClaims();
        await this.pass();
      } catch (err) {
        // An outage is logged once, by the tracker; then passes pause until it ends.
        if (avail.noteFailure(err)) continue;
        // A DB hiccup: the next wake-up or poll tries again.
        this.logger.error({ event: 'distributor.passFailed', err: (err as Error).stack ?? String(err) }, `distributor pass failed: ${(err as Error).message}`);
      }
    } while (this.again && !this.stopped);
  }

  private waitingForDb = false;
  /** Requests whose claim may or may not have landed before the connection dropped. */
  private readonly uncertainClaims = new Set<number>();

  private wakeOnReturn(avail: ReturnType<typeof dbAvailability>): void {
    if (this.waitingForDb) return;
    this.waitingForDb = true;
    avail.waitUntilAvailable().then(
      () => {
        this.waitingForDb = false;
        this.wake();
      },
      () => (this.waitingForDb = false),
    );
  }

  private async pass(): Promise<void> {
    this.passes++;
    if (!this.deps.builders.some((b) => this.hasFreeWorker(b))) return;
    const oldest = await pendingOldestByBuilder(this.deps.db);
    const candidates: DistributorBuilder[] = [];
    for (const id of oldest.keys()) {
      const b = this.byId.get(id);
      if (b && this.hasFreeWorker(b)) candidates.push(b);
    }
    if (candidates.length === 0) return;

    const loader = new RequestHandleLoader(this.deps.db, this.deps.buildsets);
    for (const b of await this.prioritize(candidates, oldest)) {
      if (this.stopped) return;
      // Builders served before may have taken the workers this one could use.
      if (!this.hasFreeWorker(b)) continue;
      await this.serveBuilder(b, oldest.get(b.builderid), loader);
    }
  }

  private hasFreeWorker(b: DistributorBuilder): boolean {
    return b.config.workernames.some((name) => this.deps.workers.isAvailable(name, b.builderid));
  }

  private freeWorkers(b: DistributorBuilder): WorkerHandle[] {
    const free: WorkerHandle[] = [];
    for (const name of b.config.workernames) {
      if (!this.deps.workers.isAvailable(name, b.builderid)) continue;
      const h = this.deps.workers.handle(name);
      if (h) free.push(h);
    }
    return free;
  }

  private builderHandle(b: DistributorBuilder, oldestTime: number | undefined): BuilderHandle {
    const db = this.deps.db;
    return {
      name: b.name,
      builderid: b.builderid,
      config: b.config,
      async getOldestRequestTime() {
        if (oldestTime !== undefined) return oldestTime;
        return oldest(await getPendingRequests(db, { builderid: b.builderid, limit: 1 }));
      },
    };
  }

  /** Buildbot's default: oldest pending request first, then by name (builders with none last). */
  private async prioritize(builders: DistributorBuilder[], oldestTimes: Map<number, number>): Promise<DistributorBuilder[]> {
    const key = (b: DistributorBuilder) => oldestTimes.get(b.builderid) ?? Infinity;
    const sorted = [...builders].sort((a, b) => key(a) - key(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const fn = this.deps.prioritizeBuilders;
    if (!fn) return sorted;
    const handles = sorted.map((b) => this.builderHandle(b, oldestTimes.get(b.builderid)));
    try {
      const ordered = await fn(this.deps.master, handles);
      if (!Array.isArray(ordered)) throw new TypeError('prioritizeBuilders must return an array of builders');
      // Keep only builders we offered, once each, in the order given.
      const seen = new Set<number>();
      const result: DistributorBuilder[] = [];
      for (const h of ordered as BuilderHandle[]) {
        const b = h && this.byId.get(h.builderid);
        if (b && !seen.has(b.builderid) && handles.includes(h)) {
          seen.add(b.builderid);
          result.push(b);
        }
      }
      return result;
    } catch (err) {
      this.logger.error({ event: 'distributor.userFunctionFailed', fn: 'prioritizeBuilders', err: (err as Error).message }, `prioritizeBuilders threw; using the default order: ${(err as Error).message}`);
      return sorted;
    }
  }

  private async serveBuilder(b: DistributorBuilder, oldestTime: number | undefined, loader: RequestHandleLoader): Promise<void> {
    const handle = this.builderHandle(b, oldestTime);
    const fns = { nextBuild: b.config.nextBuild, nextWorker: b.config.nextWorker, canStartBuild: withLockCheck(this.deps.db, b.config.locks, b.config.canStartBuild) };
    const limit = this.deps.pendingLimit ?? 500;
    // Without nextBuild (which sees the whole queue) or canStartBuild (which may pass requests over),
    // each free worker takes the next request in order: read no more than they can take.
    const wanted = () => (fns.nextBuild || fns.canStartBuild ? limit : Math.min(limit, this.freeWorkers(b).length));
    let rows = await getPendingRequests(this.deps.db, { builderid: b.builderid, limit: wanted() });
    const chooser = () => new WorkerChooser(handle, rows, this.freeWorkers(b), fns, loader, this.logger, this.deps.random);
    let current = chooser();
    while (!this.stopped) {
      const choice = await current.next();
      if (!choice) return;
      const brid = choice.request.id;
      const now = this.deps.now?.() ?? Math.floor(Date.now() / 1000);
      const claimStart = performance.now();
      let claimed: number[];
      try {
        ({ claimed } = await claimRequests(this.deps.db, [brid], this.deps.masterid, now, undefined, { onlyWhileActive: this.deps.fenceClaims }));
      } catch (err) {
        // The claim may have landed before the connection dropped: once the DB is back, release
        // whatever claim we hold on it, so the request is not stranded on a claim nobody runs.
        if (dbAvailability(this.deps.db).noteFailure(err)) this.uncertainClaims.add(brid);
        throw err;
      }
      this.deps.onClaim?.(brid, claimed.includes(brid), performance.now() - claimStart);
      if (!claimed.includes(brid)) {
        // Another master won it: our view of the queue is stale, so read it again.
        this.logger.debug({ event: 'distributor.claimLost', builder: b.name, brid }, 'request claimed elsewhere');
        rows = await getPendingRequests(this.deps.db, { builderid: b.builderid, limit: wanted() });
        if (rows.some((r) => r.id === brid)) {
          // Still pending, yet not ours: the claim was refused (this master was declared dead, or
          // the request just completed). Trying again now would spin; the next pass will tell.
          this.logger.warn({ event: 'distributor.claimRefused', builder: b.name, brid }, `claim of request ${brid} refused: is this master still active?`);
          return;
        }
        current = chooser();
        continue;
      }
      // The row as the claim left it (the claim is ours, just written).
      const request: BuildrequestWithClaim = { ...choice.request, claimed_by_masterid: this.deps.masterid, claimed_at: now };
      publishRequestRow(this.deps.bus, request, 'claimed');
      let started = false;
      try {
        started = await this.deps.startBuild(b, choice.worker, [request]);
      } catch (err) {
        this.logger.error({ event: 'distributor.startFailed', builder: b.name, worker: choice.worker.name, brid, err: (err as Error).stack ?? String(err) }, `could not start a build of ${b.name} on ${choice.worker.name}: ${(err as Error).message}`);
      }
      if (!started) {
        try {
          await unclaimRequests(this.deps.db, [brid], this.deps.masterid);
          await this.publishRequest(brid, 'unclaimed');
        } catch (err) {
          // The DB went away as the build failed to start: release the claim once it is back.
          if (!dbAvailability(this.deps.db).noteFailure(err)) throw err;
          this.uncertainClaims.add(brid);
          return;
        }
      }
    }
  }

  /**
   * Releases the claims whose INSERT lost its connection (it may have landed), before any new
   * pass: a pass could otherwise claim the request for real and then see that claim deleted.
   */
  private async releaseUncertainClaims(): Promise<void> {
    for (const brid of [...this.uncertainClaims]) {
      if ((await unclaimRequests(this.deps.db, [brid], this.deps.masterid)) > 0) {
        this.logger.info({ event: 'distributor.uncertainClaimReleased', brid }, `released request ${brid}, claimed as the database went away`);
        await this.publishRequest(brid, 'unclaimed');
      }
      this.uncertainClaims.delete(brid);
    }
  }

  private publishRequest(brid: number, event: 'claimed' | 'unclaimed'): Promise<void> {
    return publishRequest(this.deps.db, this.deps.bus, brid, event);
  }
}

function oldest(rows: readonly BuildrequestRow[]): number | undefined {
  let min: number | undefined;
  for (const r of rows) if (min === undefined || r.submitted_at < min) min = r.submitted_at;
  return min;
}
