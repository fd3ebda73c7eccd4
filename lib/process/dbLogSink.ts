import type { Database } from '../db/connection.js';
import { appendLogChunks, compressLog, finishLog, getLogChunks } from '../db/logs.js';
import type { LogSink } from '../logs/logWriter.js';
import { DurableWrites } from './durableWrites.js';

/**
 * lib/db/logs.ts as a LogWriter sink, for the logs of one build. It remembers, per log, the batches
 * it has tried and the rows it has stored: a batch's first attempt needs no check for rows already
 * there (only a retry can find some), and a log stored in a single chunk has nothing to compress.
 *
 * Every write outlasts a database outage (DurableWrites): it waits and runs again until it lands,
 * and each is idempotent — a batch tried before checks which of its first_lines are stored —
 * so no line is lost or stored twice, and LogWriter never gives a log up for an outage.
 *
 * A batch whose write waited long (a lock held by another connection, an outage) is read back, and
 * written again (the first_line check keeps it exactly-once) if its rows are missing. A belt-and-braces
 * check: on sqlite such writes once reported success without committing, behind a statement left
 * un-reset after SQLITE_BUSY (fixed in lib/db/sqliteDriver.ts, test/db/sqliteLockedWrite.test.ts);
 * `log.writeVanished` in the log means a new way of losing writes.
 */
const SLOW_WRITE_MS = 1_000;

export function dbLogSink(db: Database, durable: DurableWrites = new DurableWrites(db, db.logger)): LogSink {
  const logs = new Map<number, { tried: Set<number>; rows: number }>();
  const stateOf = (logid: number) => {
    let s = logs.get(logid);
    if (!s) logs.set(logid, (s = { tried: new Set(), rows: 0 }));
    return s;
  };
  return {
    appendLogChunks: async (logid, rows, numLines) => {
      const state = stateOf(logid);
      const first = rows[0]?.first_line ?? -1;
      await durable.run('log lines', async () => {
        const fresh = !state.tried.has(first);
        state.tried.add(first);
        const started = Date.now();
        await appendLogChunks(db, logid, rows, numLines, undefined, { fresh });
        if (Date.now() - started < SLOW_WRITE_MS) return;
        const last = rows[rows.length - 1]?.last_line ?? first;
        const stored = new Set((await getLogChunks(db, logid, first, last)).map((r) => Number(r.first_line)));
        if (rows.every((r) => stored.has(r.first_line))) return;
        db.logger.warn({ event: 'log.writeVanished', logid, firstLine: first, stored: stored.size, rows: rows.length }, 'a slow log write reported success without its rows: writing them again');
        await appendLogChunks(db, logid, rows, numLines);
      });
      state.rows += rows.length;
    },
    finishLog: (logid) => durable.run('log end', () => finishLog(db, logid)),
    compressLog: async (logid) => {
      const state = logs.get(logid);
      logs.delete(logid);
      // Several chunks (or an unknown count) may be merged; one cannot.
      if (state && state.rows <= 1 && state.tried.size <= 1) return;
      await durable.run('log compression', () => compressLog(db, logid));
    },
  };
}
