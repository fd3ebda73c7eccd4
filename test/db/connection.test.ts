import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildmasterError } from '../../lib/errors/index.js';
import { openDatabase, SQLITE_BUSY_TIMEOUT_MS, type Database } from '../../lib/db/connection.js';
import { BASE_CAPS, mysqlCapsForVersion } from '../../lib/db/dialects.js';
import { forEachDialect, TEST_MYSQL_URL } from '../support/databases.js';

async function one<T>(db: Database, sql: string, t?: Parameters<Parameters<Database['transaction']>[0]>[0]): Promise<T> {
  const [rows] = await db.sequelize.query(sql, { transaction: t });
  return (rows as T[])[0]!;
}

async function createCounter(db: Database): Promise<void> {
  await db.sequelize.query(`CREATE TABLE counter (id INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (id))${db.caps.tableOptions}`);
  await db.sequelize.query('INSERT INTO counter (id, n) VALUES (1, 0)');
}

/** Read, then write what was read plus one: loses updates unless transactions really serialize. */
async function increment(db: Database): Promise<void> {
  await db.transaction(async (t) => {
    const { n } = await one<{ n: number }>(db, `SELECT n FROM counter WHERE id = 1${db.caps.rowLocks ? ' FOR UPDATE' : ''}`, t);
    await new Promise((r) => setTimeout(r, 2));
    await db.sequelize.query('UPDATE counter SET n = ? WHERE id = 1', { replacements: [Number(n) + 1], transaction: t });
  });
}

forEachDialect('openDatabase', (h) => {
  it('opens the URL and reports its dialect and capabilities', async () => {
    const db = await h.connect();
    expect(db.dialect).to.equal(h.dialect);
    expect(db.caps.immediateTransactions).to.equal(h.dialect === 'sqlite');
    if (h.dialect === 'sqlite') {
      expect(db.sqlitePath).to.equal(path.join(h.basedir(), 'state.sqlite'));
      expect(db.caps).to.deep.equal(BASE_CAPS.sqlite);
    } else {
      expect(db.sqlitePath).to.equal(undefined);
      const { v } = await one<{ v: string }>(db, 'SELECT VERSION() AS v');
      expect(db.caps).to.deep.equal(mysqlCapsForVersion(v));
    }
  });

  it('puts every sqlite connection in WAL mode with a busy timeout of at least 5 s, inside transactions too', async function () {
    if (h.dialect !== 'sqlite') this.skip();
    const db = await h.connect();
    expect(SQLITE_BUSY_TIMEOUT_MS).to.be.at.least(5000);
    expect(await one(db, 'PRAGMA journal_mode')).to.deep.equal({ journal_mode: 'wal' });
    expect(await one(db, 'PRAGMA busy_timeout')).to.deep.equal({ timeout: SQLITE_BUSY_TIMEOUT_MS });
    await db.transaction(async (t) => {
      expect(await one(db, 'PRAGMA journal_mode', t)).to.deep.equal({ journal_mode: 'wal' });
      expect(await one(db, 'PRAGMA busy_timeout', t)).to.deep.equal({ timeout: SQLITE_BUSY_TIMEOUT_MS });
      // Buildbot runs sqlite with foreign keys off; Sequelize would turn them on.
      expect(await one(db, 'SELECT foreign_keys FROM pragma_foreign_keys()', t)).to.deep.equal({ foreign_keys: 0 });
    });
  });

  it('uses utf8mb4 and reports matched (not changed) rows on MySQL, as sqlite does', async () => {
    const db = await h.open();
    if (h.dialect === 'mysql') {
      expect(await one(db, 'SELECT @@character_set_connection AS cs')).to.deep.equal({ cs: 'utf8mb4' });
    }
    await db.models.masters.create({ name: 'm', name_hash: 'h', active: 1, last_active: 5 });
    // An UPDATE that matches a row but changes nothing still counts it: conditional updates read the same everywhere.
    const [count] = await db.models.masters.update({ active: 1 }, { where: { name_hash: 'h' } });
    expect(count).to.equal(1);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const db = await h.connect();
    await createCounter(db);
    await db.transaction((t) => db.sequelize.query('UPDATE counter SET n = 5', { transaction: t }));
    const boom = new Error('boom');
    const err = await db
      .transaction(async (t) => {
        await db.sequelize.query('UPDATE counter SET n = 6', { transaction: t });
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(err).to.equal(boom);
    expect(await one(db, 'SELECT n FROM counter')).to.deep.equal({ n: 5 });
  });

  it('serializes 20 concurrent read-then-write transactions in one process, without stalling', async () => {
    const db = await h.connect();
    await createCounter(db);
    const started = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => increment(db)));
    expect(await one(db, 'SELECT n FROM counter')).to.deep.equal({ n: 20 });
    expect(Date.now() - started).to.be.below(SQLITE_BUSY_TIMEOUT_MS);
  });

  it('serializes transactions of two connections to the same database (two masters)', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await createCounter(a);
    await Promise.all(Array.from({ length: 10 }, (_, i) => increment(i % 2 ? a : b)));
    expect(await one(a, 'SELECT n FROM counter')).to.deep.equal({ n: 10 });
  });

  it('refuses a transaction opened inside another one (it would deadlock on sqlite)', async () => {
    const db = await h.connect();
    const err = await db.transaction(() => db.transaction(async () => 1)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BuildmasterError);
    expect((err as Error).message).to.match(/inside another transaction/);
    expect(await db.transaction(async () => 'still usable')).to.equal('still usable');
  });

  it('lets work started inside a transaction open its own once that transaction has ended', async () => {
    const db = await h.connect();
    let later: Promise<string> | undefined;
    await db.transaction(async () => {
      later = new Promise((r) => setTimeout(r, 10)).then(() => db.transaction(async () => 'after'));
    });
    expect(await later).to.equal('after');
  });

  it('can be closed twice', async () => {
    const db = await h.connect();
    await db.close();
    await db.close();
  });
});

describe('openDatabase failures', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bmtest-open-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('explains a sqlite file that cannot be opened', async () => {
    writeFileSync(path.join(dir, 'not-a-dir'), '');
    const file = path.join(dir, 'not-a-dir', 'state.sqlite');
    const err = await openDatabase({ url: `sqlite:///${file}`, basedir: '/' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BuildmasterError);
    expect((err as BuildmasterError).userError).to.equal(true);
    expect((err as Error).message).to.contain(`cannot open the database (sqlite ${file}): `);
  });

  it('explains a wrong MySQL password without printing it', async function () {
    if (!TEST_MYSQL_URL) this.skip();
    const url = new URL(TEST_MYSQL_URL!);
    url.password = 'wrong-secret';
    const err = await openDatabase({ url: url.toString(), basedir: '/' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BuildmasterError);
    expect((err as Error).message).to.match(/^cannot open the database \(mysql .*\): Access denied/);
    expect((err as Error).message).not.to.contain('wrong-secret');
  });
});

describe('dialect capabilities', () => {
  it('follows the server version on MySQL and MariaDB', () => {
    expect(mysqlCapsForVersion('10.11.19-MariaDB-0+deb12u1')).to.include({ skipLocked: true, returning: true });
    expect(mysqlCapsForVersion('10.5.2-MariaDB')).to.include({ skipLocked: false, returning: true });
    expect(mysqlCapsForVersion('10.3.39-MariaDB')).to.include({ skipLocked: false, returning: false });
    expect(mysqlCapsForVersion('8.0.36')).to.include({ skipLocked: true, returning: false });
    expect(mysqlCapsForVersion('5.7.44-log')).to.include({ skipLocked: false, returning: false });
  });

  it('describes every dialect with the same flags', () => {
    expect(Object.keys(BASE_CAPS.mysql).sort()).to.deep.equal(Object.keys(BASE_CAPS.sqlite).sort());
  });
});
