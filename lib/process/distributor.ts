/**
 * The build request distributor (Buildbot's BuildRequestDistributor): hands pending requests to
 * builders and workers. It runs a pass when something may have changed — a request was added or
 * unclaimed, a worker connected or came free, a build finished — and every second anyway, because
 * other masters add and release requests without telling this process. One pass runs at a time;
 * wake-ups during a pass collapse into one more pass after it.
 *
 * A pass reads only pending requests (indexed): its cost follows the queue, never the history.
 *   1. Builders of this master with pending requests and at least one worker free for them.
 *   2. Ordered by prioritizeBuilders (default: oldest pending request first, then name).
 *   3. Per builder, a WorkerChooser proposes (worker, request) pairs; each request is claimed
 *      (a unique insert: exactly one master wins) and, when won, its build started. A lost claim
 *      is normal — another master took it — so we re-read the queue and carry on.
 */
import type { ResolvedBuilder } from '../config/resolved.js';
import type { PrioritizeBuildersFn } from '../config/types.js';
import type { Database } from '../db/connection.js';
import {
  claimRequests,
  getPendingRequests,
  pendingBuilderIds,
  unclaimRequests,
  type BuildrequestRow,
} from '../db/buildrequests.js';
import type { MessageBus } from '../master/bus.js';
import type { Logger } from '../util/log.js';
import { RequestHandleLoader, type BuilderHandle, type WorkerHandle } from './handles.js';
import { publishRequest } from './messages.js';
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
   */
  startBuild(builder: DistributorBuilder, worker: WorkerHandle, requests: BuildrequestRow[]): Promise<boolean>;
  /** Default 1000. */
  pollIntervalMs?: number;
  /** Pending requests read per builder and pass (default 500): a deep queue costs no more than this. */
  pendingLimit?: number;
  /** Epoch seconds. */
  now?: () => number;
  random?: () => number;
}

const WAKE_EVENTS: readonly (readonly string[])[] = [
  ['buildrequests', '*', 'new'],
  ['buildrequests', '*', 'unclaimed'],
  ['workers', '*', 'connected'],
  ['builds', '*', 'finished'],
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
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (err) {
        // A DB hiccup: the next wake-up or poll tries again.
        this.logger.error({ event: 'distributor.passFailed', err: (err as Error).stack ?? String(err) }, `distributor pass failed: ${(err as Error).message}`);
      }
    } while (this.again && !this.stopped);
  }

  private async pass(): Promise<void> {
    this.passes++;
    const ids = await pendingBuilderIds(this.deps.db);
    const candidates = ids
      .map((id) => this.byId.get(id))
      .filter((b): b is DistributorBuilder => b !== undefined && this.freeWorkers(b).length > 0);
    if (candidates.length === 0) return;

    const limit = this.deps.pendingLimit ?? 500;
    const pending = new Map<number, BuildrequestRow[]>();
    for (const b of candidates) pending.set(b.builderid, await getPendingRequests(this.deps.db, { builderid: b.builderid, limit }));
    const loader = new RequestHandleLoader(this.deps.db);
    for (const b of await this.prioritize(candidates, pending)) {
      if (this.stopped) return;
      await this.serveBuilder(b, pending.get(b.builderid) ?? [], loader);
    }
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

  private builderHandle(b: DistributorBuilder, pending?: BuildrequestRow[]): BuilderHandle {
    const db = this.deps.db;
    return {
      name: b.name,
      builderid: b.builderid,
      config: b.config,
      async getOldestRequestTime() {
        const rows = pending ?? (await getPendingRequests(db, { builderid: b.builderid, limit: 1 }));
        return oldest(rows);
      },
    };
  }

  /** Buildbot's default: oldest pending request first, then by name (builders with none last). */
  private async prioritize(builders: DistributorBuilder[], pending: Map<number, BuildrequestRow[]>): Promise<DistributorBuilder[]> {
    const key = (b: DistributorBuilder) => oldest(pending.get(b.builderid) ?? []) ?? Infinity;
    const sorted = [...builders].sort((a, b) => key(a) - key(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const fn = this.deps.prioritizeBuilders;
    if (!fn) return sorted;
    const handles = sorted.map((b) => this.builderHandle(b, pending.get(b.builderid)));
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

  private async serveBuilder(b: DistributorBuilder, rows: BuildrequestRow[], loader: RequestHandleLoader): Promise<void> {
    const handle = this.builderHandle(b, rows);
    const fns = { nextWorker: b.config.nextWorker, nextBuild: b.config.nextBuild, canStartBuild: b.config.canStartBuild };
    const chooser = () => new WorkerChooser(handle, rows, this.freeWorkers(b), fns, loader, this.logger, this.deps.random);
    let current = chooser();
    while (!this.stopped) {
      const choice = await current.next();
      if (!choice) return;
      const brid = choice.request.id;
      const now = this.deps.now?.() ?? Math.floor(Date.now() / 1000);
      const { claimed } = await claimRequests(this.deps.db, [brid], this.deps.masterid, now);
      if (!claimed.includes(brid)) {
        // Another master won it: our view of the queue is stale, so read it again.
        this.logger.debug({ event: 'distributor.claimLost', builder: b.name, brid }, 'request claimed elsewhere');
        rows = await getPendingRequests(this.deps.db, { builderid: b.builderid, limit: this.deps.pendingLimit ?? 500 });
        current = chooser();
        continue;
      }
      await this.publishRequest(brid, 'claimed');
      let started = false;
      try {
        started = await this.deps.startBuild(b, choice.worker, [choice.request]);
      } catch (err) {
        this.logger.error({ event: 'distributor.startFailed', builder: b.name, worker: choice.worker.name, brid, err: (err as Error).stack ?? String(err) }, `could not start a build of ${b.name} on ${choice.worker.name}: ${(err as Error).message}`);
      }
      if (!started) {
        await unclaimRequests(this.deps.db, [brid], this.deps.masterid);
        await this.publishRequest(brid, 'unclaimed');
      }
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
