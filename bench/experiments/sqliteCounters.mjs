// Experiment: count what the master asks of sqlite (connections opened, statements prepared, statements
// run by kind and by statement text, time from call to callback) and print the totals to stderr when it exits.
//   npm run bench -- e2e --keep --master-node-arg=--import=./bench/experiments/sqliteCounters.mjs
// The figures are at the end of master.out in the kept temp dir.
import { createRequire } from 'node:module';

const sqlite3 = createRequire(import.meta.url)('sqlite3');
const counts = { opens: 0, statements: 0, begin: 0, commit: 0, rollback: 0, select: 0, insert: 0, update: 0, delete: 0, other: 0, totalMs: 0 };
const byText = new Map();
// Statement text without literals, so one row per distinct statement.
const shape = (sql) => String(sql).replace(/'(?:[^']|'')*'/g, '?').replace(/\b\d+\b/g, 'N').replace(/\s+/g, ' ').slice(0, 140);
const kindOf = (sql) => {
  const m = /^\s*(\w+)/.exec(String(sql));
  const k = m ? m[1].toLowerCase() : 'other';
  return k in counts ? k : k === 'commit' ? 'commit' : 'other';
};
for (const method of ['run', 'all', 'get', 'exec', 'each']) {
  const orig = sqlite3.Database.prototype[method];
  sqlite3.Database.prototype[method] = function (sql, ...args) {
    counts.statements++;
    const kind = /^\s*BEGIN/i.test(sql) ? 'begin' : kindOf(sql);
    counts[kind]++;
    const key = shape(sql);
    byText.set(key, (byText.get(key) ?? 0) + 1);
    const cbIndex = args.findIndex((a) => typeof a === 'function');
    if (cbIndex >= 0) {
      const cb = args[cbIndex];
      const t0 = performance.now();
      args[cbIndex] = function (...r) {
        counts.totalMs += performance.now() - t0;
        return cb.apply(this, r);
      };
    }
    return orig.call(this, sql, ...args);
  };
}
// lib/db/query.ts keeps statements prepared and runs them again: count those runs by their SQL too.
counts.prepares = 0;
const prepare = sqlite3.Database.prototype.prepare;
sqlite3.Database.prototype.prepare = function (...args) {
  counts.prepares++;
  return prepare.apply(this, args);
};
for (const method of ['run', 'all', 'get']) {
  const orig = sqlite3.Statement.prototype[method];
  sqlite3.Statement.prototype[method] = function (...args) {
    const sql = this.sql;
    counts.statements++;
    counts[kindOf(sql)]++;
    const key = shape(sql);
    byText.set(key, (byText.get(key) ?? 0) + 1);
    const cbIndex = args.findIndex((a) => typeof a === 'function');
    if (cbIndex >= 0) {
      const cb = args[cbIndex];
      const t0 = performance.now();
      args[cbIndex] = function (...r) {
        counts.totalMs += performance.now() - t0;
        return cb.apply(this, r);
      };
    }
    return orig.apply(this, args);
  };
}
const configure = sqlite3.Database.prototype.configure;
sqlite3.Database.prototype.configure = function (option, value) {
  if (option === 'busyTimeout') counts.opens++;
  return configure.call(this, option, value);
};
process.on('exit', () => {
  counts.totalMs = Math.round(counts.totalMs);
  process.stderr.write(`sqliteCounters ${JSON.stringify(counts)}\n`);
  for (const [sql, n] of [...byText].sort((a, b) => b[1] - a[1]).slice(0, 40)) process.stderr.write(`sqliteCounters ${String(n).padStart(6)}  ${sql}\n`);
});
