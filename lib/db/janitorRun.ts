import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { remove, select, update } from './query.js';
import { sqliteExec } from './sqliteDriver.js';
import type { WalCheckpointer } from './walCheckpointer.js';

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
  /** The time one batch should take at most (default 25 ms): about the longest a claim waits behind it. */
  maxBatchMs?: number;
  /** Called between batches with the last batch's duration; the master sleeps here. */
  pause?: (lastBatchMs: number) => Promise<void>;
  /** Count without deleting (collectGarbage runs it all in one transaction it rolls back). */
  dryRun?: boolean;
  /** Stops between batches. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** After each batch: when it had the database (performance.now() ms) and for how long. */
  onBatch?: (b: { phase: string; startedAt: number; heldMs: number }) => void;
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
export const DEFAULT_MAX_BATCH_MS = 25;
/** The first batch of a phase is this small; sizes then double while batches stay fast. */
const FIRST_BATCH = 16;
const MIN_BATCH = 4;

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

/**
 * One statement of a batch. Parameters are integers or lists of them only (ids, times), so that
 * the sqlite path can write them into the SQL text. `table`: the rows it deletes are counted
 * against that table (an UPDATE has none).
 */
export interface Stmt {
  table?: string;
  sql: string;
  params: readonly (number | readonly number[])[];
}

/** `sql` with its `?` replaced by the integers (and lists) of `params`. */
function inline(st: Stmt): string {
  let i = 0;
  const lit = (v: unknown): string => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`janitor statements take integers only, not ${String(v)}`);
    return String(v);
  };
  return st.sql.replace(/\?/g, () => {
    const p = st.params[i++];
    // An empty list would be `IN ()`, which sqlite accepts and matches nothing; MySQL does not parse it.
    return Array.isArray(p) ? (p.length ? p.map(lit).join(', ') : 'NULL') : lit(p);
  });
}

const COUNTS_TABLE = 'temp.janitor_counts';

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
    // Not below a few units: on a busy machine a batch's time is mostly round trips, whatever its size.
    if (elapsedMs > this.budgetMs) this.size = Math.max(Math.min(MIN_BATCH, this.max), Math.floor(this.size / 2));
    else if (elapsedMs < this.budgetMs / 4) this.size = Math.min(this.max, this.size * 2);
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
  private execBatches = 0;
  /** sqlite: checkpoints the WAL between batches, outside the write lock. */
  checkpointer: WalCheckpointer | undefined;
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
   * Runs `statements` as one batch, its own transaction (or the dry run's), timed from the moment
   * it has the database; then the pause. Statements with nothing to do are dropped.
   */
  async batch(sizer: BatchSizer, units: number, statements: readonly Stmt[]): Promise<void> {
    const todo = statements.filter((st) => st.params.every((p) => !Array.isArray(p) || p.length > 0));
    let tally: Record<string, number> = {};
    let heldMs = 0;
    let startedAt = performance.now();
    if (todo.length > 0) {
      if (this.outer) ({ tally, heldMs, startedAt } = await this.runEach(todo, this.outer));
      else if (this.db.caps.singleWriter) ({ tally, heldMs, startedAt } = await this.runAsOneExec(todo));
      else {
        await this.db.transaction(async (t) => ({ tally, heldMs, startedAt } = await this.runEach(todo, t)), { driverOnly: true });
      }
      this.opts.onBatch?.({ phase: this.phase, startedAt, heldMs });
    }
    for (const [table, n] of Object.entries(tally)) this.rows[table] = (this.rows[table] ?? 0) + n;
    this.batchCount++;
    this.longestBatchMs = Math.max(this.longestBatchMs, heldMs);
    sizer.after(heldMs);
    this.phaseDone += units;
    this.report();
    if (!this.outer) {
      await this.checkpointer?.checkpoint();
      await this.opts.pause?.(heldMs);
    }
  }

  /** Statement by statement in `t` (MySQL, where row locks keep claims out of the janitor's way; a dry run). */
  private async runEach(todo: readonly Stmt[], t: Transaction): Promise<{ tally: Record<string, number>; heldMs: number; startedAt: number }> {
    const started = performance.now();
    const tally: Record<string, number> = {};
    for (const st of todo) {
      const n = st.table ? await remove(this.db, st.sql, st.params, t) : await update(this.db, st.sql, st.params, t);
      if (st.table && n > 0) tally[st.table] = (tally[st.table] ?? 0) + n;
    }
    return { tally, heldMs: performance.now() - started, startedAt: started };
  }

  /**
   * sqlite: the whole batch, BEGIN to COMMIT, as one exec on the write connection, so the write lock
   * is held only while sqlite works — not across a round trip through the event loop per statement,
   * which on a busy machine is what a batch's time would be made of. Each DELETE's changes() go to a
   * temp table (this connection's own), read after the lock is released.
   */
  private async runAsOneExec(todo: readonly Stmt[]): Promise<{ tally: Record<string, number>; heldMs: number; startedAt: number }> {
    const batchNo = ++this.execBatches;
    const parts = [`CREATE TEMP TABLE IF NOT EXISTS ${COUNTS_TABLE.slice(5)} (b INTEGER, t TEXT, n INTEGER)`, 'BEGIN IMMEDIATE', `DELETE FROM ${COUNTS_TABLE}`];
    for (const st of todo) {
      parts.push(inline(st));
      if (st.table) parts.push(`INSERT INTO ${COUNTS_TABLE} VALUES (${batchNo}, '${st.table}', changes())`);
    }
    parts.push('COMMIT');
    const { conn, release } = await this.db.acquire(true);
    const started = performance.now();
    let heldMs: number;
    try {
      try {
        await sqliteExec(conn, parts.join(';\n'));
      } catch (err) {
        await sqliteExec(conn, 'ROLLBACK').catch(() => undefined);
        throw err;
      }
      heldMs = performance.now() - started;
    } finally {
      await release();
    }
    // Read on the same connection (the table is its own); only this batch's rows.
    const rows = await select<{ t: string; n: number }>(this.db, `SELECT t, n FROM ${COUNTS_TABLE} WHERE b = ?`, [batchNo], { connection: conn } as unknown as Transaction);
    const tally: Record<string, number> = {};
    for (const r of rows) if (r.n > 0) tally[r.t] = (tally[r.t] ?? 0) + Number(r.n);
    return { tally, heldMs, startedAt: started };
  }

  /** Counts units of a phase that needed no batch (nothing to delete among them). */
  skipped(units: number): void {
    this.phaseDone += units;
  }

  private report(): void {
    this.opts.onProgress?.({ phase: this.phase, done: this.phaseDone, ...(this.phaseTotal !== undefined ? { total: this.phaseTotal } : {}), rows: this.totalRows });
  }
}
