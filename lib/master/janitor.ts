/**
 * The janitor service: every master runs one; the one that takes the lease (lib/db/janitorLease.ts)
 * collects garbage (lib/db/janitor.ts) once per `janitor.interval`, in batches short enough that a
 * claim never waits long behind one, pausing between batches as long as the last batch took (the
 * database is ours at most half the time). Then sqlite's freed pages are given back in steps.
 *
 * Buildbot runs its janitor as a builder on a Nightly schedule (JanitorConfigurator, hour=0); here
 * it is a service with an interval, and its lease makes it run on exactly one master of several.
 */
import type { ResolvedConfig } from '../config/resolved.js';
import type { Database } from '../db/connection.js';
import { collectGarbage, databaseSize, type CollectResult, type Horizons } from '../db/janitor.js';
import { acquireLease, readCursors, releaseLease, renewLease } from '../db/janitorLease.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_MS } from '../db/janitorRun.js';
import { reclaimSpace } from '../db/janitorVacuum.js';
import { sleep } from '../util/backoff.js';
import type { Logger } from '../util/log.js';

export type JanitorConfig = ResolvedConfig['janitor'];

export const JANITOR_DEFAULTS = {
  /** Seconds between runs (on one master of all). */
  interval: 3_600,
  batchSize: DEFAULT_BATCH_SIZE,
  maxBatchMs: DEFAULT_MAX_BATCH_MS,
} as const;

/** How long a taken lease lasts without renewal: a dead holder blocks the others this long at most. */
const LEASE_SECONDS = 60;

export interface JanitorRunReport extends CollectResult {
  bytesReclaimed: number;
  sizeBefore: number;
  sizeAfter: number;
}

export interface JanitorServiceOptions {
  db: Database;
  logger: Logger;
  masterid: number;
  config: JanitorConfig;
  /** Called after each run this master made (tests await it). */
  onRun?: (report: JanitorRunReport) => void;
}

/** The horizons set in the config, or undefined when none is (the janitor then stays off). */
export function horizonsOf(config: JanitorConfig): Horizons | undefined {
  const keys = ['buildHorizon', 'logHorizon', 'buildDataHorizon', 'testResultHorizon', 'changeHorizon', 'changeAgeHorizon', 'signatureHorizon'] as const;
  const h: Horizons = {};
  for (const k of keys) if (config[k] !== undefined) h[k] = config[k];
  return Object.keys(h).length > 0 ? h : undefined;
}

export class JanitorService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly logger: Logger;
  private readonly intervalSeconds: number;
  /** Told of every batch this master's janitor runs (tests measure what waits behind them). */
  onBatch: ((b: { phase: string; startedAt: number; heldMs: number }) => void) | undefined;

  constructor(private readonly opts: JanitorServiceOptions) {
    this.logger = opts.logger.child({ component: 'janitor' });
    this.intervalSeconds = opts.config.interval ?? JANITOR_DEFAULTS.interval;
  }

  /** Starts checking whether a run is due (nothing when no horizon is configured). */
  start(): void {
    if (!horizonsOf(this.opts.config)) return;
    // Check often enough that a run starts soon after it is due, and a dead holder's work is taken over.
    const everyMs = Math.min(Math.max(this.intervalSeconds / 10, 1), 300) * 1000;
    const tick = () => {
      this.timer = setTimeout(() => {
        this.running = this.runIfDue()
          .then(() => undefined)
          .catch((err: unknown) => this.logger.error({ event: 'janitor.failed', err: (err as Error)?.stack ?? String(err) }, 'the janitor failed'))
          .finally(() => {
            this.running = undefined;
            if (!this.abort.signal.aborted) tick();
          });
      }, everyMs);
      this.timer.unref();
    };
    tick();
  }

  /** Stops between two batches and releases the lease. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.timer);
    await this.running;
  }

  /** Runs now if this master gets the lease and the interval has passed (`force`: whatever the interval). */
  async runIfDue(force = false): Promise<JanitorRunReport | undefined> {
    const horizons = horizonsOf(this.opts.config);
    if (!horizons || this.abort.signal.aborted) return undefined;
    const { db, masterid } = this.opts;
    const now = () => Math.floor(Date.now() / 1000);
    const lease = await acquireLease(db, masterid, { now: now(), leaseSeconds: LEASE_SECONDS, intervalSeconds: this.intervalSeconds, force });
    if (!lease.acquired) return undefined;
    let lost = false;
    let renewedAt = now();
    // Between batches: give the database to others as long as the batch had it, and keep the lease.
    const keepLease = async () => {
      if (now() - renewedAt >= LEASE_SECONDS / 3) {
        renewedAt = now();
        if (!(await renewLease(db, masterid, renewedAt + LEASE_SECONDS))) lost = true;
      }
      if (lost) throw new Error('lost the janitor lease (another master took it over)');
    };
    const pause = async (lastBatchMs: number) => {
      await sleep(Math.max(5, lastBatchMs));
      await keepLease();
    };
    const sizeBefore = await databaseSize(db);
    const cursors = await readCursors(db);
    let result: CollectResult;
    try {
      result = await collectGarbage(db, {
        horizons,
        cursors,
        batchSize: this.opts.config.batchSize ?? JANITOR_DEFAULTS.batchSize,
        maxBatchMs: this.opts.config.maxBatchMs ?? JANITOR_DEFAULTS.maxBatchMs,
        pause,
        signal: this.abort.signal,
        onBatch: (b) => this.onBatch?.(b),
      });
    } catch (err) {
      if (!lost) await releaseLease(db, masterid, now()).catch(() => undefined);
      throw err;
    }
    const bytesReclaimed = await reclaimSpace(db, { pause: () => sleep(10).then(keepLease), signal: this.abort.signal });
    await releaseLease(db, masterid, now(), result.cursors);
    const report: JanitorRunReport = { ...result, bytesReclaimed, sizeBefore, sizeAfter: await databaseSize(db) };
    this.logger.info(
      { event: 'janitor.ran', rows: result.totalRows, byTable: result.rows, batches: result.batches, longestBatchMs: Math.round(result.longestBatchMs), ms: Math.round(result.durationMs), bytesReclaimed },
      `janitor: deleted ${result.totalRows} rows in ${result.batches} batches (longest ${Math.round(result.longestBatchMs)} ms)`,
    );
    this.opts.onRun?.(report);
    return report;
  }
}
