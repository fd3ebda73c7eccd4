/**
 * The writes a running build must not lose (step and build rows, log chunks, request ends), made
 * to outlast a database outage. Each write is retried in place until it lands, so a build's writes
 * keep their order: the build awaits each one before it makes the next (its log batches go one at
 * a time per log, LogBuffer), and none is skipped.
 *
 *   - a connection error (lib/db/retry.ts) is reported to the database's availability tracker
 *     (lib/db/outage.ts), which logs the outage once and probes it; the write waits until the
 *     database answers again, then runs again;
 *   - busy / deadlock / lock wait timeout (the statement certainly did not apply) back off and
 *     retry;
 *   - anything else propagates.
 *
 * Exactly once: after a lost connection a write may or may not have committed. Every write given
 * here must therefore be idempotent (UPDATEs that set final values, log chunks keyed by first_line,
 * claim deletes), or come with `recover`, which looks for what it would have written and returns it
 * (an INSERT of a step or a log), or undefined to run it again.
 *
 * Memory stays bounded while writes wait: the build is blocked at its next write, and the remote
 * output of a running command is paused once its log's unwritten backlog passes
 * DEFAULT_BACKLOG_LIMIT (lib/logs/logWriter.ts; remoteShell stops reading the SSH channel).
 */
import type { Database } from '../db/connection.js';
import { dbAvailability } from '../db/outage.js';
import { classifyDbError } from '../db/retry.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import type { Logger } from '../util/log.js';

export interface DurableOptions<T> {
  /** After a lost connection: what the write already did (undefined: it did not apply; run it again). */
  recover?: () => Promise<T | undefined>;
}

export class DurableWrites {
  /** Writes waiting for the database right now (for tests and the log). */
  waiting = 0;
  /** Writes that failed once and were retried. */
  retried = 0;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly signal?: AbortSignal,
  ) {}

  /** Runs `write` until it lands (see the file comment); `what` names it in the log. */
  async run<T>(what: string, write: () => Promise<T>, opts: DurableOptions<T> = {}): Promise<T> {
    const avail = dbAvailability(this.db);
    let uncertain = false;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!avail.available) await this.waitFor(what, avail);
        if (uncertain && opts.recover) {
          const done = await opts.recover();
          if (done !== undefined) return done;
        }
        return await write();
      } catch (err) {
        const kind = classifyDbError(err);
        if (kind === null || this.signal?.aborted) throw err;
        this.retried++;
        if (kind === 'connection') {
          uncertain = true;
          avail.noteFailure(err);
          // The tracker's probe decides when to try again; a short pause keeps a flapping
          // connection (probe fine, write refused) from spinning.
          await sleep(backoffDelay(Math.min(attempt, 6), 50, 2_000), this.signal);
        } else {
          await sleep(backoffDelay(attempt, 100, 5_000), this.signal);
        }
        if (attempt === 0) this.logger.warn({ event: 'db.writeDeferred', what, kind, err: (err as Error).message }, `could not write ${what}; retrying until the database takes it`);
      }
    }
  }

  private async waitFor(what: string, avail: ReturnType<typeof dbAvailability>): Promise<void> {
    this.waiting++;
    try {
      await avail.waitUntilAvailable(this.signal);
    } finally {
      this.waiting--;
    }
    this.logger.debug({ event: 'db.writeResumed', what }, 'database back: writing');
  }
}
