import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { addLog, appendLogChunks } from '../../lib/db/logs.js';
import { heartbeatMaster, markMasterActive } from '../../lib/db/masters.js';
import { upgradeDatabase } from '../../lib/db/migrate.js';
import { insert, update } from '../../lib/db/query.js';
import { addStep } from '../../lib/db/steps.js';
import { encodeChunks } from '../../lib/logs/chunkCodec.js';
import { seed, seedBuild } from './dataSeed.js';

/**
 * sqlite: a write that gets SQLITE_BUSY (another connection held the write lock past the busy
 * timeout) left its prepared statement resumable and counted as an active writer, so the writes
 * after it on the same connection reported success without committing, and its retry (which resets
 * it) rolled them back. On the master: a heartbeat times out during another process's BEGIN
 * EXCLUSIVE, the log chunk written next is lost.
 */
const BUSY_MS = 1_000;
/** The lock is held past the first write's busy timeout and released during the second's. */
const LOCK_MS = BUSY_MS * 1.5;

const rawCall = <T>(f: (cb: (err: Error | null, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));

/** What a brand-new connection (another process, a restart) sees. */
async function freshRead<T>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = new sqlite3.Database(file);
  try {
    return await rawCall<T[]>((cb) => conn.all(sql, params, cb));
  } finally {
    await new Promise<void>((resolve) => conn.close(() => resolve()));
  }
}

describe('sqlite: writes after one that waited out another connection\'s lock', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  let db: Database;
  let locker: sqlite3.Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bm-locked-write-'));
    file = join(dir, 'state.sqlite');
    db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir, busyTimeoutMs: BUSY_MS });
    locker = new sqlite3.Database(file);
  });
  afterEach(async () => {
    await rawCall((cb) => locker.exec('ROLLBACK', cb)).catch(() => undefined);
    await new Promise<void>((resolve) => locker.close(() => resolve()));
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Another connection takes the write lock (BEGIN EXCLUSIVE) and gives it back after LOCK_MS. */
  async function lockFor(ms: number): Promise<{ unlocked: Promise<void> }> {
    await rawCall((cb) => locker.exec('BEGIN EXCLUSIVE', cb));
    return { unlocked: new Promise((resolve, reject) => setTimeout(() => locker.exec('COMMIT', (err) => (err ? reject(err) : resolve())), ms)) };
  }

  it('commits an autocommit write queued behind one that got SQLITE_BUSY, and keeps it through that one\'s retry', async () => {
    await update(db, 'CREATE TABLE beats (n INTEGER NOT NULL)');
    await insert(db, 'INSERT INTO beats (n) VALUES (0)');
    await update(db, 'CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const { unlocked } = await lockFor(LOCK_MS);
    // The UPDATE times out first (BUSY, retried by query.ts); the INSERT runs in between and lands after the unlock.
    const beat = update(db, 'UPDATE beats SET n = n + 1');
    const item = await insert(db, 'INSERT INTO items (v) VALUES (?)', ['kept']);
    expect(item.affectedRows).to.equal(1);
    expect(await freshRead(file, 'SELECT v FROM items'), 'committed as soon as it reports success').to.deep.equal([{ v: 'kept' }]);
    expect(await beat).to.equal(1);
    await unlocked;
    expect(await freshRead(file, 'SELECT v FROM items'), 'not rolled back by the retried UPDATE').to.deep.equal([{ v: 'kept' }]);
    expect(await freshRead(file, 'SELECT n FROM beats'), 'the retried UPDATE applied once').to.deep.equal([{ n: 1 }]);
  });

  it('keeps a log chunk written while the heartbeat waits out another process\'s BEGIN EXCLUSIVE (the master\'s path)', async () => {
    await upgradeDatabase(db, { backup: false });
    const s = await seed(db);
    await markMasterActive(db, s.masterid, 4000);
    const stepid = (await addStep(db, await seedBuild(db, s), 'run')).stepid;
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    await appendLogChunks(db, logid, encodeChunks(['o one'], 0), 1, undefined, { fresh: true });
    const { unlocked } = await lockFor(LOCK_MS);
    const beat = heartbeatMaster(db, s.masterid, 5000);
    const inserted = await appendLogChunks(db, logid, encodeChunks(['o two', 'o three'], 1), 3, undefined, { fresh: true });
    expect(inserted).to.equal(1);
    expect(await beat).to.equal(true);
    await unlocked;
    const rows = await freshRead<{ first_line: number }>(file, 'SELECT first_line FROM logchunks WHERE logid = ? ORDER BY first_line', [logid]);
    expect(rows.map((r) => r.first_line), 'every chunk stored').to.deep.equal([0, 1]);
    expect(await freshRead(file, 'SELECT num_lines FROM logs WHERE id = ?', [logid])).to.deep.equal([{ num_lines: 3 }]);
    expect(await freshRead(file, 'SELECT last_active FROM masters WHERE id = ?', [s.masterid])).to.deep.equal([{ last_active: 5000 }]);
  });

  it('leaves no transaction open after a statement that failed with SQLITE_BUSY', async () => {
    await update(db, 'CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    await rawCall((cb) => locker.exec('BEGIN EXCLUSIVE', cb));
    // With the lock held for good, the INSERT exhausts query.ts's retries and fails.
    const quick = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir, busyTimeoutMs: 20 });
    try {
      const failed = await insert(quick, 'INSERT INTO items (v) VALUES (?)', ['first']).then(
        () => undefined,
        (err: { code?: string }) => err.code,
      );
      expect(failed).to.equal('SQLITE_BUSY');
      await rawCall((cb) => locker.exec('COMMIT', cb));
      // Another statement: the failed one is not run again, which would have reset it.
      await insert(quick, 'INSERT INTO items (v) SELECT ?', ['second']);
      // Another connection can take the write lock: the failed statement holds nothing.
      await rawCall((cb) => locker.exec('BEGIN IMMEDIATE; COMMIT', cb));
      expect(await freshRead(file, 'SELECT v FROM items')).to.deep.equal([{ v: 'second' }]);
    } finally {
      await quick.close();
    }
  });
});
