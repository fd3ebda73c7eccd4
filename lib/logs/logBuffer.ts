import { BuildmasterError } from '../errors/index.js';
import { encodeChunksAsync, MAX_CHUNK_SIZE, type LogChunkRow, type WriteCompression } from './chunkCodec.js';

/**
 * Accumulates one log's lines in memory and hands them to a writer in batches of logchunks rows:
 * when about 64 KiB are pending, or `flushIntervalMs` after the oldest pending line arrived.
 *
 * Batches reach the writer one at a time, in line order. A batch the writer rejects is kept and
 * offered again (the next trigger, `flush()` or `close()`), so no line is ever dropped; the writer
 * must therefore apply a batch atomically (rows and logs.num_lines in one transaction).
 */

export interface LogBatch {
  firstLine: number;
  lastLine: number;
  /** logs.num_lines after this batch. */
  numLines: number;
  lines: string[];
  timestamps: number[];
  rows: LogChunkRow[];
}

export interface LogBufferOptions {
  /** Writes one batch; called sequentially, never concurrently. */
  write: (batch: LogBatch) => Promise<void>;
  /** Line number of the first line added (the log's current num_lines). */
  firstLine?: number;
  flushIntervalMs?: number;
  /** Pending size (UTF-16 units + newlines, ≈ bytes for ASCII) that triggers a flush. */
  maxPendingBytes?: number;
  compression?: WriteCompression;
  /** Told about a failed write (it will be retried); defaults to ignoring it. */
  onError?: (err: unknown) => void;
}

export const DEFAULT_FLUSH_INTERVAL_MS = 500;

export class LogBuffer {
  private readonly opts: Required<Omit<LogBufferOptions, 'onError'>> & Pick<LogBufferOptions, 'onError'>;
  private lines: string[] = [];
  private stamps: number[] = [];
  private pendingBytes = 0;
  private nextLine: number;
  /** Batches cut but not yet written, oldest first. */
  private readonly queue: { firstLine: number; lines: string[]; timestamps: number[]; rows?: LogChunkRow[] }[] = [];
  private draining: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set while the batch at the head of the queue has failed to write. */
  private failure: { err: unknown } | null = null;

  constructor(options: LogBufferOptions) {
    this.opts = {
      firstLine: 0,
      flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS,
      maxPendingBytes: MAX_CHUNK_SIZE,
      compression: 'gz',
      ...options,
    };
    this.nextLine = this.opts.firstLine;
  }

  /** Lines accepted so far, counting from line 0 of the log: the eventual num_lines. */
  get numLines(): number {
    return this.nextLine;
  }

  /** Lines accepted but not yet written. */
  get pendingLines(): number {
    return this.lines.length + this.queue.reduce((n, b) => n + b.lines.length, 0);
  }

  add(line: string, ts: number): void {
    if (this.closed) throw new BuildmasterError('log buffer is closed');
    this.lines.push(line);
    this.stamps.push(ts);
    this.nextLine++;
    this.pendingBytes += line.length + 1;
    this.afterAdd();
  }

  addLines(lines: readonly string[], timestamps: readonly number[]): void {
    if (this.closed) throw new BuildmasterError('log buffer is closed');
    if (lines.length !== timestamps.length) {
      throw new BuildmasterError(`${timestamps.length} timestamps for ${lines.length} log lines`);
    }
    for (let i = 0; i < lines.length; i++) {
      this.lines.push(lines[i]);
      this.stamps.push(timestamps[i]);
      this.pendingBytes += lines[i].length + 1;
    }
    this.nextLine += lines.length;
    if (lines.length) this.afterAdd();
  }

  /** Write everything pending now; resolves when it is written (rejects if the writer failed). */
  async flush(): Promise<void> {
    this.cut();
    await this.drain();
    if (this.queue.length && this.failure) throw this.failure.err;
  }

  /** Flush, then refuse further lines. Safe to call again to retry a failed final write. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private afterAdd(): void {
    if (this.pendingBytes >= this.opts.maxPendingBytes) {
      this.cut();
      void this.drain();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.cut();
        void this.drain();
      }, this.opts.flushIntervalMs);
    }
  }

  /** Move the pending lines into a queued batch. */
  private cut(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.lines.length === 0) return;
    this.queue.push({ firstLine: this.nextLine - this.lines.length, lines: this.lines, timestamps: this.stamps });
    this.lines = [];
    this.stamps = [];
    this.pendingBytes = 0;
  }

  /**
   * Write queued batches in order. Each call chains one more pass after the running one, so a
   * batch queued while a pass is finishing is never missed and two writes never overlap.
   * Never rejects.
   */
  private drain(): Promise<void> {
    const pass = (this.draining ?? Promise.resolve()).then(() => this.drainLoop());
    this.draining = pass;
    void pass.then(() => {
      if (this.draining === pass) this.draining = null;
    });
    return pass;
  }

  private async drainLoop(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue[0];
      try {
        batch.rows ??= await encodeChunksAsync(batch.lines, batch.firstLine, {
          compression: this.opts.compression,
          timestamps: batch.timestamps,
        });
        const lastLine = batch.firstLine + batch.lines.length - 1;
        await this.opts.write({
          firstLine: batch.firstLine,
          lastLine,
          numLines: lastLine + 1,
          lines: batch.lines,
          timestamps: batch.timestamps,
          rows: batch.rows,
        });
        this.queue.shift();
        this.failure = null;
      } catch (err) {
        // Keep the batch at the head: the next flush trigger retries it, so order is preserved.
        this.failure = { err };
        this.opts.onError?.(err);
        return;
      }
    }
  }
}
