import type { MessageBus } from '../master/bus.js';
import type { SecretMasker } from '../process/secretMasker.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { LogChunkRow } from './chunkCodec.js';
import { LineSplitter, type SplitLine } from './lineSplitter.js';
import { LogBuffer, type LogBatch } from './logBuffer.js';

/**
 * Writes one log of a step: output → LineSplitter (per-channel lines with receive times, secrets
 * masked on whole lines) → LogBuffer (batches of logchunks rows) → the store, then a
 * ['logs', id, 'append'] event per batch written. `finish()` flushes, marks the log complete and
 * merges its small chunks.
 *
 *   const log = new LogWriter({ sink, bus, logid, name: 'stdio', type: 's', masker });
 *   log.addHeader('make all');  log.addStdout(bytes);  await log.finish();
 *
 * Memory: the splitter holds at most one partial line per channel (64 KiB), the buffer a batch in
 * progress; written batches are dropped. While the store lags behind, cut batches wait in the
 * buffer's queue: `backlogBytes` reports their size, so a producer that can pause may do so.
 */

export type LogType = 's' | 't' | 'h' | 'd';

/** Where a log's rows go (lib/db/logs.ts in the master; a fake in tests). */
export interface LogSink {
  appendLogChunks(logid: number, rows: LogChunkRow[], numLines: number): Promise<void>;
  finishLog(logid: number): Promise<void>;
  compressLog(logid: number): Promise<void>;
}

export interface LogWriterOptions {
  sink: LogSink;
  logid: number;
  name: string;
  type: LogType;
  slug?: string;
  stepid?: number;
  bus?: MessageBus;
  masker?: SecretMasker;
  logger?: Logger;
  /** Receive time of output, ms since epoch (default Date.now). */
  nowMs?: () => number;
  flushIntervalMs?: number;
}

/** The payload of ['logs', id, 'append']. */
export interface LogAppendMessage {
  logid: number;
  firstLine: number;
  lines: string[];
  timestamps: number[];
}

/** How often a failed final write is retried before the log is given up (it stays incomplete). */
const FINISH_ATTEMPTS = 6;
/**
 * Lines are written at least every flush interval (0.5 s) and at most this much at a time. A
 * batch is one transaction of several 64 KiB chunk rows: per-transaction cost (a sqlite commit
 * syncs the WAL) would otherwise cap a chatty build at a few MB/s.
 */
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Backlog at which drained() asks a producer to wait. */
export const DEFAULT_BACKLOG_LIMIT = 8 * 1024 * 1024;

export class LogWriter {
  readonly logid: number;
  readonly name: string;
  readonly type: LogType;
  private readonly opts: LogWriterOptions;
  private readonly splitter: LineSplitter;
  private readonly buffer: LogBuffer;
  private childLogger: Logger | undefined;
  private readonly nowMs: () => number;
  private readonly observers: ((line: SplitLine) => void)[] = [];
  private finishing: Promise<void> | undefined;
  private _finished = false;
  private writtenBytes = 0;
  private acceptedBytes = 0;
  private drainWaiters: { below: number; resolve: () => void }[] = [];

  constructor(opts: LogWriterOptions) {
    this.opts = opts;
    this.logid = opts.logid;
    this.name = opts.name;
    this.type = opts.type;
    this.nowMs = opts.nowMs ?? Date.now;
    this.splitter = new LineSplitter({ transform: opts.masker?.transform });
    this.buffer = new LogBuffer({
      write: (batch) => this.write(batch),
      ...(opts.flushIntervalMs !== undefined ? { flushIntervalMs: opts.flushIntervalMs } : {}),
      maxPendingBytes: MAX_BATCH_BYTES,
      onError: (err) => this.logger.warn({ event: 'log.writeFailed', err: (err as Error).message }, 'log write failed; will retry'),
    });
  }

  /** Made when first needed (only to report trouble): a pino child costs a few µs per log. */
  private get logger(): Logger {
    this.childLogger ??= (this.opts.logger ?? silentLogger()).child({ logid: this.opts.logid, log: this.opts.name });
    return this.childLogger;
  }

  get finished(): boolean {
    return this._finished;
  }

  /** Lines accepted so far (the eventual num_lines). */
  get numLines(): number {
    return this.buffer.numLines;
  }

  /** Bytes of lines accepted but not yet written to the store. */
  get backlogBytes(): number {
    return this.acceptedBytes - this.writtenBytes;
  }

  /**
   * Undefined while the backlog is small; otherwise a promise that resolves once it has fallen
   * below half of `limit`. A producer that can pause (an SSH channel) waits for it.
   */
  drained(limit = DEFAULT_BACKLOG_LIMIT): Promise<void> | undefined {
    if (this.backlogBytes < limit) return undefined;
    return new Promise((resolve) => this.drainWaiters.push({ below: limit / 2, resolve }));
  }

  private wakeDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const backlog = this.backlogBytes;
    const still: typeof this.drainWaiters = [];
    for (const w of this.drainWaiters) (backlog < w.below || this._finished ? w.resolve() : still.push(w));
    this.drainWaiters = still;
  }

  /** Called with every stored line (after masking), in order; e.g. a warning counter. */
  observe(fn: (line: SplitLine) => void): void {
    this.observers.push(fn);
  }

  addStdout(data: string | Buffer): void {
    this.push('o', data);
  }

  addStderr(data: string | Buffer): void {
    this.push('e', data);
  }

  /** A header line (or several); a final newline is added when missing. */
  addHeader(text: string): void {
    this.push('h', text.endsWith('\n') ? text : text + '\n');
  }

  /** Text for a `t` or `h` log (no channel prefix). */
  addText(text: string): void {
    this.push('', text);
  }

  /**
   * Emit the partial lines of stdout and stderr, so a header written next (the exit code) comes
   * after the command's last unterminated line, as one reads it.
   */
  endOutput(): void {
    this.take(this.splitter.flush('o'));
    this.take(this.splitter.flush('e'));
  }

  private push(channel: string, data: string | Buffer): void {
    if (this.finishing) {
      this.logger.debug({ event: 'log.lateOutput', channel }, 'output after finish() dropped');
      return;
    }
    this.take(this.splitter.push(this.type === 's' ? channel : '', data, this.nowMs()));
  }

  private take(lines: SplitLine[]): void {
    if (lines.length === 0) return;
    const stored: string[] = new Array(lines.length);
    const stamps: number[] = new Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      stored[i] = l.channel + l.text;
      stamps[i] = l.ts;
      this.acceptedBytes += stored[i].length + 1;
      for (const fn of this.observers) {
        try {
          fn(l);
        } catch (err) {
          this.logger.warn({ event: 'log.observerFailed', err: (err as Error).message }, 'log observer failed');
        }
      }
    }
    this.buffer.addLines(stored, stamps);
  }

  private async write(batch: LogBatch): Promise<void> {
    await this.opts.sink.appendLogChunks(this.logid, batch.rows, batch.numLines);
    for (const l of batch.lines) this.writtenBytes += l.length + 1;
    this.wakeDrainWaiters();
    const msg: LogAppendMessage = { logid: this.logid, firstLine: batch.firstLine, lines: batch.lines, timestamps: batch.timestamps };
    this.opts.bus?.publish(['logs', String(this.logid), 'append'], msg);
  }

  /**
   * Flush everything, mark the log complete (publishing ['logs', id, 'finished']) and merge its
   * chunks. Idempotent. A store that keeps failing leaves the log incomplete; that is logged, not
   * thrown, because a build must finish even when one of its logs could not.
   */
  finish(): Promise<void> {
    this.finishing ??= this.doFinish();
    return this.finishing;
  }

  private async doFinish(): Promise<void> {
    this.take(this.splitter.flush());
    const sink = this.opts.sink;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.buffer.close();
        break;
      } catch (err) {
        if (attempt + 1 >= FINISH_ATTEMPTS) {
          this.logger.error({ event: 'log.lost', err: (err as Error).message, pendingLines: this.buffer.pendingLines }, 'could not store the end of a log');
          for (const w of this.drainWaiters.splice(0)) w.resolve();
          return;
        }
        await sleep(backoffDelay(attempt, 100, 2000));
      }
    }
    try {
      await sink.finishLog(this.logid);
      this._finished = true;
      this.wakeDrainWaiters();
      this.opts.bus?.publish(['logs', String(this.logid), 'finished'], this.row(true));
    } catch (err) {
      this.logger.error({ event: 'log.finishFailed', err: (err as Error).message }, 'could not mark a log finished');
      return;
    }
    try {
      await sink.compressLog(this.logid);
    } catch (err) {
      // The rows are all there, only not merged: harmless.
      this.logger.warn({ event: 'log.compressFailed', err: (err as Error).message }, 'could not compress a log');
    }
  }

  /** The log as the REST API shows it. */
  row(complete = this._finished): { logid: number; name: string; slug: string | undefined; stepid: number | undefined; complete: boolean; num_lines: number; type: LogType } {
    return {
      logid: this.logid,
      name: this.name,
      slug: this.opts.slug,
      stepid: this.opts.stepid,
      complete,
      num_lines: this.buffer.numLines,
      type: this.type,
    };
  }
}
