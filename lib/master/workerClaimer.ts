/**
 * Makes a slave host driven by one master at a time: before a master connects to a worker it
 * claims it in the database (lib/db/workerClaims.ts); a worker another active master holds stays
 * unconnected here, so this master's builders skip it (Buildbot: builders use only the workers
 * connected to their master), and its maxBuilds then holds across masters by itself.
 *
 * Every tick (about 2 s, jittered) it tries to claim each worker it does not hold — so it takes a
 * worker over soon after its holder stops cleanly (which releases its claims) or is declared dead
 * (expiry deletes them) — and checks that it still holds the others: a master declared dead while
 * alive has lost them, and must let the worker go (`onLost`).
 */
import { dbAvailability } from '../db/outage.js';
import type { Database } from '../db/connection.js';
import { claimWorker, getWorkerHolders, releaseMasterWorkerClaims, releaseWorkerClaim } from '../db/workerClaims.js';
import type { Logger } from '../util/log.js';

export const WORKER_CLAIM_INTERVAL_MS = 2_000;

export interface WorkerClaimerDeps {
  db: Database;
  logger: Logger;
  masterid: number;
  intervalMs?: number;
  /** Still configured here? A worker that is not is given up. */
  isConfigured(name: string): boolean;
  /** We now hold the worker: connect to it. */
  onWon(name: string): void;
  /** Another master took the worker: stop driving it. */
  onLost(name: string): void;
}

interface Entry {
  workerid: number;
  held: boolean;
  /** Who held it when we last lost (for logging once per holder). */
  heldBy?: number;
}

export class WorkerClaimer {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Asked for while a pass ran: one more pass after it. */
  private again = false;

  constructor(private readonly deps: WorkerClaimerDeps) {}

  /** Starts claiming `name` (at once, then every tick). Adding it again restarts its claim. */
  add(name: string, workerid: number): void {
    if (this.stopped) return;
    this.entries.set(name, { workerid, held: false });
    this.tick();
    this.schedule();
  }

  /** Does this master hold the worker now (as far as the last tick knows)? */
  holds(name: string): boolean {
    return this.entries.get(name)?.held ?? false;
  }

  /** No more ticks; waits for the one running. Claims stay until releaseAll(). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Gives up every worker this master holds (after its connections are closed). */
  async releaseAll(): Promise<void> {
    for (const e of this.entries.values()) e.held = false;
    await releaseMasterWorkerClaims(this.deps.db, this.deps.masterid);
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const base = this.deps.intervalMs ?? WORKER_CLAIM_INTERVAL_MS;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
      this.schedule();
    }, base * (0.75 + Math.random() * 0.5));
    this.timer.unref();
  }

  /** One pass over the workers; overlapping requests share the running pass and one more after it. */
  private tick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass().catch((err: unknown) => {
          // A DB outage is reported once by the availability tracker; the next pass retries.
          if (dbAvailability(this.deps.db).noteFailure(err)) return;
          this.deps.logger.warn({ event: 'worker.claimPassFailed', err: (err as Error).message }, 'worker claim pass failed; retrying');
        });
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
  }

  private async pass(): Promise<void> {
    const { db, masterid, logger } = this.deps;
    if (this.entries.size === 0) return;
    // One read for every worker: who holds what now.
    const holders = await getWorkerHolders(db);
    for (const [name, e] of [...this.entries]) {
      if (this.stopped) return;
      if (!this.deps.isConfigured(name)) {
        this.entries.delete(name);
        if (e.held) await releaseWorkerClaim(db, e.workerid, masterid);
        continue;
      }
      if (e.held) {
        if (holders.get(e.workerid)?.masterid === masterid) continue;
        e.held = false;
        logger.warn({ event: 'worker.claimLost', worker: name }, `worker ${name} is now driven by another master: letting it go`);
        this.deps.onLost(name);
        continue;
      }
      const holder = holders.get(e.workerid);
      // Another live master drives it: nothing to try (claimWorker would say the same, in two statements).
      if (holder && holder.masterid !== masterid && holder.active) {
        this.noteHeldElsewhere(name, e, holder.masterid);
        continue;
      }
      const outcome = await claimWorker(db, e.workerid, masterid);
      if (this.stopped || this.entries.get(name) !== e) {
        // Stopped (or re-added) meanwhile: releaseAll() gives the claim back.
        continue;
      }
      if (outcome.claimed) {
        e.held = true;
        e.heldBy = undefined;
        logger.info({ event: 'worker.claimed', worker: name }, `worker ${name} claimed: this master drives it`);
        this.deps.onWon(name);
      } else this.noteHeldElsewhere(name, e, outcome.heldBy);
    }
  }

  /** Logged once per holder. */
  private noteHeldElsewhere(name: string, e: Entry, heldBy: number): void {
    if (e.heldBy === heldBy) return;
    e.heldBy = heldBy;
    this.deps.logger.info({ event: 'worker.heldElsewhere', worker: name, masterid: heldBy }, `worker ${name} is driven by master ${heldBy}; not connecting`);
  }
}
