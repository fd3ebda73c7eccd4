import { expect } from 'chai';
import path from 'node:path';
import mysql from 'mysql2/promise';
import sqlite3 from 'sqlite3';
import type { Transaction } from 'sequelize';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { classifyDbError, isRetryableDbError, withRetry } from '../../lib/db/retry.js';
import { parseDbUrl, type MysqlTarget } from '../../lib/db/url.js';
import { forEachDialect } from '../support/databases.js';

/** Catches what `promise` rejects with (and fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

function openRawSqlite(file: string, busyTimeoutMs: number): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => {
      if (err) return reject(err);
      db.configure('busyTimeout', busyTimeoutMs);
      resolve(db);
    });
  });
}

const run = (db: sqlite3.Database, sql: string) =>
  new Promise<void>((resolve, reject) => db.run(sql, (err) => (err ? reject(err) : resolve())));
const closeRaw = (db: sqlite3.Database) => new Promise<void>((resolve) => db.close(() => resolve()));

/** Real errors from the database, one of each kind this dialect can produce. */
async function busyErrors(h: { url(): string; basedir(): string; connect(): Promise<Database> }): Promise<unknown[]> {
  const db = await h.connect();
  await db.sequelize.query('CREATE TABLE t (id INTEGER)');
  const file = path.join(h.basedir(), 'state.sqlite');
  const holder = await openRawSqlite(file, 0);
  const other = await openRawSqlite(file, 0);
  try {
    await run(holder, 'BEGIN IMMEDIATE');
    const raw = await rejection(run(other, 'BEGIN IMMEDIATE'));
    // The same through Sequelize, with a short busy timeout so the test does not wait 5 s.
    const quick = await openDatabase({ url: h.url(), basedir: h.basedir(), busyTimeoutMs: 50 });
    const wrapped = await rejection(quick.sequelize.query('INSERT INTO t VALUES (1)')).finally(() => quick.close());
    return [raw, wrapped];
  } finally {
    await closeRaw(holder);
    await closeRaw(other);
  }
}

forEachDialect('classified retry', (h) => {
  /** Raw connections a test opened; ended in the test itself, before the harness drops the database. */
  const raw: mysql.Connection[] = [];
  async function endRaw(): Promise<void> {
    for (const c of raw.splice(0)) c.destroy();
  }

  async function mysqlConn(): Promise<mysql.Connection> {
    const t = parseDbUrl(h.url(), '/') as MysqlTarget;
    const conn = await mysql.createConnection({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database });
    raw.push(conn);
    return conn;
  }

  it('retries a lock conflict: SQLITE_BUSY on sqlite, deadlock (1213) and lock wait timeout (1205) on MySQL', async function () {
    this.timeout(20_000);
    if (h.dialect === 'sqlite') {
      const errors = await busyErrors(h);
      for (const err of errors) expect(classifyDbError(err)).to.equal('busy');
      return;
    }
    const db = await h.connect();
    await db.sequelize.query('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER) ENGINE=InnoDB');
    await db.sequelize.query('INSERT INTO t VALUES (1, 0), (2, 0)');
    // Two transactions lock rows in opposite orders: InnoDB kills one of them.
    const t1 = await db.sequelize.transaction();
    const t2 = await db.sequelize.transaction();
    const update = (id: number, t: Transaction) => db.sequelize.query('UPDATE t SET n = n + 1 WHERE id = ?', { replacements: [id], transaction: t });
    await update(1, t1);
    await update(2, t2);
    const outcomes = await Promise.allSettled([update(2, t1), update(1, t2)]);
    const deadlock = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(classifyDbError(deadlock.reason)).to.equal('deadlock');
    await t1.rollback().catch(() => undefined);
    await t2.rollback().catch(() => undefined);

    const holder = await db.sequelize.transaction();
    await update(1, holder);
    const waiter = await mysqlConn();
    try {
      await waiter.query('SET SESSION innodb_lock_wait_timeout = 1');
      await waiter.query('BEGIN');
      const timeout = await rejection(waiter.query('UPDATE t SET n = 5 WHERE id = 1'));
      expect(classifyDbError(timeout)).to.equal('lockTimeout');
    } finally {
      await endRaw();
      await holder.rollback();
    }
  });

  it('retries a lost connection', async function () {
    if (h.dialect === 'sqlite') {
      // sqlite has no connection to lose; only the driver-level codes can be shown.
      expect(classifyDbError({ code: 'SQLITE_LOCKED', errno: 6 })).to.equal('busy');
      expect(classifyDbError({ code: 'SQLITE_BUSY_SNAPSHOT' })).to.equal('busy');
      return;
    }
    const admin = await mysqlConn();
    const victim = await mysqlConn();
    try {
      const [[{ id }]] = (await victim.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
      await admin.query(`KILL ${id}`);
      const lost = await rejection(victim.query('SELECT 1'));
      expect(classifyDbError(lost)).to.equal('connection');
    } finally {
      await endRaw();
    }
  });

  it('lets everything else propagate: constraint violations, syntax errors, plain bugs', async () => {
    const db = await h.open();
    await db.models.masters.create({ name: 'm', name_hash: 'same', active: 0, last_active: 0 });
    const unique = await rejection(db.models.masters.create({ name: 'm2', name_hash: 'same', active: 0, last_active: 0 }));
    const syntax = await rejection(db.sequelize.query('SELEC 1'));
    for (const err of [unique, syntax, new TypeError('x is undefined'), 'a string', null]) {
      expect(classifyDbError(err)).to.equal(null);
      expect(isRetryableDbError(err)).to.equal(false);
    }
  });

  it('re-runs a whole transaction after a retryable error, and only then', async function () {
    this.timeout(20_000);
    const db = await h.open();
    // A real retryable error from this dialect, thrown from inside the transaction on the first attempt.
    let transient: unknown;
    if (h.dialect === 'sqlite') {
      [transient] = await busyErrors(h);
    } else {
      transient = { code: 'ER_LOCK_DEADLOCK', errno: 1213 };
    }
    let attempts = 0;
    await db.transaction(async (t) => {
      attempts++;
      await db.models.masters.create({ name: `m${attempts}`, name_hash: `h${attempts}`, active: 0, last_active: 0 }, { transaction: t });
      if (attempts === 1) throw transient;
    });
    expect(attempts).to.equal(2);
    // The first attempt was rolled back: only the second attempt's row exists.
    expect((await db.models.masters.findAll()).map((m) => m.get('name'))).to.deep.equal(['m2']);

    attempts = 0;
    const err = await rejection(db.transaction(async () => {
      attempts++;
      throw new RangeError('not retryable');
    }));
    expect(err).to.be.instanceOf(RangeError);
    expect(attempts).to.equal(1);
  });
});

describe('withRetry', () => {
  const busy = Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' });

  it('retries until success with capped, growing, jittered waits', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetry(async (attempt) => {
      expect(attempt).to.equal(calls++);
      if (calls < 6) throw busy;
      return 'done';
    }, { baseMs: 10, maxMs: 50, sleep: async (ms) => void waits.push(ms) });
    expect(result).to.equal('done');
    expect(calls).to.equal(6);
    expect(waits).to.have.length(5);
    waits.forEach((ms, i) => {
      const ceiling = Math.min(50, 10 * 2 ** i);
      expect(ms, `wait ${i}`).to.be.within(ceiling / 2, ceiling);
    });
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const err = await rejection(withRetry(async () => {
      calls++;
      throw busy;
    }, { maxAttempts: 3, sleep: async () => undefined }));
    expect(err).to.equal(busy);
    expect(calls).to.equal(3);
  });

  it('does not retry what is not transient', async () => {
    let calls = 0;
    const bug = new Error('bug');
    expect(await rejection(withRetry(async () => {
      calls++;
      throw bug;
    }, { sleep: async () => undefined }))).to.equal(bug);
    expect(calls).to.equal(1);
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const err = await rejection(withRetry(async () => {
      calls++;
      controller.abort(new Error('shutting down'));
      throw busy;
    }, { signal: controller.signal }));
    expect(err).to.equal(busy);
    expect(calls).to.equal(1);
  });
});
