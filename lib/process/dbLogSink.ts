import type { Database } from '../db/connection.js';
import { appendLogChunks, compressLog, finishLog } from '../db/logs.js';
import type { LogSink } from '../logs/logWriter.js';

/** lib/db/logs.ts as a LogWriter sink. */
export function dbLogSink(db: Database): LogSink {
  return {
    appendLogChunks: async (logid, rows, numLines) => {
      await appendLogChunks(db, logid, rows, numLines);
    },
    finishLog: (logid) => finishLog(db, logid),
    compressLog: async (logid) => {
      await compressLog(db, logid);
    },
  };
}
