import type { Database } from '../db/connection.js';
import { appendLogChunks, compressLog, finishLog } from '../db/logs.js';
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

 */

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
        await appendLogChunks(db, logid, rows, numLines, undefined, { fresh });
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
