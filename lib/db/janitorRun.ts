import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { batches, remove, select, update, type Params } from './query.js';

/**
 * The machinery every janitor phase shares (lib/db/janitor.ts): batches, each its own short write
 * transaction, sized so one takes about `maxBatchMs`; a pause between batches, in which the
 * claims and build writes queued behind a batch get the database; the rows deleted, per table.
 * A dry run runs every batch inside one transaction that is rolled back at the end (dryRun), so
 * later phases see what earlier ones deleted and the counts are exactly a real run's.
 */

export interface RunOptions {
  /** Most units (builds, changes …) in one batch (default 500). */
  batchSize?: number;
  /** The time one batch should take at most (default 50 ms): the longest a claim waits behind it. */
  maxBatchMs?: number;
  /** Called between batches with the last batch's duration; the master sleeps here. */
  pause?: (lastBatchMs: number) => Promise<void>;
  /** Count without deleting (collectGarbage runs it all in one transaction it rolls back). */
  dryRun?: boolean;
  /** Stops between batches. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  phase: string;
  /** Units of this phase done (builds, changes, steps …) and how many there are, when estimated. */
  done: number;
  total?: number;
  /** Rows deleted (or, in a dry run, that would be) so far, all tables. */
  rows: number;
}

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_MAX_BATCH_MS = 50;
/** The first batch of a phase is this small; sizes then double while batches stay fast. */
const FIRST_BATCH = 16;

class DryRunRollback extends Error {}

/**
 * Runs `fn` with every batch inside one transaction, then rolls it back: a dry run. It holds the
 * write lock (sqlite) or the rows' locks (MySQL) to the end, which is for the offline cleanupdb.
 */
export async function inRolledBackTransaction(run: JanitorRun, fn: () => Promise<void>): Promise<void> {
  try {
    await run.db.transaction(
      async (t) => {
        run.outer = t;
        try {
          await fn();
        } finally {
          run.outer = undefined;
        }
        throw new DryRunRollback();
      },
      { driverOnly: true, retry: false },
    );
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
}

/** A batch's deletes, made through this so they are counted (and rolled back in a dry run). */
export interface Batch {
  readonly t: Transaction;
  /** DELETE … WHERE col IN (?) for `ids` (chunked under the bind limit); returns rows deleted. */
  deleteIn(table: string, column: string, ids: readonly number[], extra?: string): Promise<number>;
  /** Any DELETE; counted against `table`. */
  delete(table: string, sql: string, params: Params): Promise<number>;
  update(sql: string, params: Params): Promise<number>;
  select<T>(sql: string, params: Params): Promise<T[]>;
  /**
   * The `id` column of a SELECT whose `IN (?)` lists (`repeat` of them, all the same list) take
   * `ids`, chunked under the bind limit.
   */
  ids(sql: string, ids: readonly number[], repeat?: number): Promise<number[]>;
}

/** Adapts the batch size to the time budget. */
export class BatchSizer {
  size: number;
  constructor(
    private readonly max: number,
    private readonly budgetMs: number,
  ) {
    this.size = Math.min(FIRST_BATCH, max);
  }

  after(elapsedMs: number): void {
    if (elapsedMs > this.budgetMs) this.size = Math.max(1, Math.floor(this.size / 2));
    else if (elapsedMs < this.budgetMs / 3) this.size = Math.min(this.max, this.size * 2);
  }
}

export class JanitorRun {
  readonly rows: Record<string, number> = {};
  batchCount = 0;
  longestBatchMs = 0;
  readonly batchSize: number;
  readonly maxBatchMs: number;
  /** Set for a dry run: every batch runs in this transaction (inRolledBackTransaction). */
  outer: Transaction | undefined;
  private phase = '';
  private phaseDone = 0;
  private phaseTotal: number | undefined;

  constructor(
    readonly db: Database,
    readonly opts: RunOptions,
  ) {
    this.batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
    this.maxBatchMs = Math.max(1, opts.maxBatchMs ?? DEFAULT_MAX_BATCH_MS);
  }

  get aborted(): boolean {
    return this.opts.signal?.aborted ?? false;
  }

  get totalRows(): number {
    return Object.values(this.rows).reduce((a, b) => a + b, 0);
  }

  sizer(): BatchSizer {
    return new BatchSizer(this.batchSize, this.maxBatchMs);
  }

  startPhase(name: string, total?: number): void {
    this.phase = name;
    this.phaseDone = 0;
    this.phaseTotal = total;
    this.report();
  }

  /**
   * Runs `fn` as one batch: its own transaction (rolled back in a dry run), timed, its row counts
   * kept only once it committed (a retried transaction counts once); then the pause.
   */
  async batch<T>(sizer: BatchSizer, units: number, fn: (b: Batch) => Promise<T>): Promise<T> {
    const db = this.db;
    const started = performance.now();
    let tally: Record<string, number> = {};
    let result!: T;
    const body = async (t: Transaction) => {
          tally = {};
          const count = (table: string, n: number) => {
            if (n > 0) tally[table] = (tally[table] ?? 0) + n;
            return n;
          };
          const b: Batch = {
            t,
            deleteIn: async (table, column, ids, extra = '') => {
              let n = 0;
              for (const chunk of batches(db, ids)) n += await remove(db, `DELETE FROM ${table} WHERE ${column} IN (?)${extra}`, [chunk], t);
              return count(table, n);
            },
            delete: async (table, sql, params) => count(table, await remove(db, sql, params, t)),
            update: (sql, params) => update(db, sql, params, t),
            select: (sql, params) => select(db, sql, params, t),
            ids: async (sql, ids, repeat = 1) => {
              const out: number[] = [];
              for (const chunk of batches(db, ids)) {
                const rows = await select<{ id: number }>(db, sql, new Array(repeat).fill(chunk), t);
                for (const r of rows) out.push(Number(r.id));
              }
              return out;
            },
          };
          result = await fn(b);
    };
    if (this.outer) await body(this.outer);
    else await db.transaction(body, { driverOnly: true });
    const elapsed = performance.now() - started;
    for (const [table, n] of Object.entries(tally)) this.rows[table] = (this.rows[table] ?? 0) + n;
    this.batchCount++;
    this.longestBatchMs = Math.max(this.longestBatchMs, elapsed);
    sizer.after(elapsed);
    this.phaseDone += units;
    this.report();
    if (!this.outer) await this.opts.pause?.(elapsed);
    return result;
  }

  /** Counts units of a phase that needed no batch (nothing to delete among them). */
  skipped(units: number): void {
    this.phaseDone += units;
  }

  private report(): void {
    this.opts.onProgress?.({ phase: this.phase, done: this.phaseDone, ...(this.phaseTotal !== undefined ? { total: this.phaseTotal } : {}), rows: this.totalRows });
  }
}
