// Experiment (not the default): PRAGMA synchronous=NORMAL on every sqlite connection the master opens.
// In WAL mode that skips the fsync at each commit (the WAL is synced at checkpoints): a commit survives
// a crash of the master, but not necessarily a power cut.
//   npm run bench -- e2e --master-node-arg=--import=./bench/experiments/sqliteSynchronousNormal.mjs
import { createRequire } from 'node:module';

const sqlite3 = createRequire(import.meta.url)('sqlite3');
const configure = sqlite3.Database.prototype.configure;
// lib/db/connection.ts configures busyTimeout on every connection it opens: piggyback on that.
sqlite3.Database.prototype.configure = function (option, value) {
  const result = configure.call(this, option, value);
  if (option === 'busyTimeout') this.exec('PRAGMA synchronous=NORMAL');
  return result;
};
