import { expect } from 'chai';
import { pino } from 'pino';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { addLog, getLog, getLogChunks } from '../../lib/db/logs.js';
import { dbAvailability } from '../../lib/db/outage.js';
import { select } from '../../lib/db/query.js';
import { classifyDbError, isConnectionError } from '../../lib/db/retry.js';
import { addStep, completeStep, getStep } from '../../lib/db/steps.js';
import { encodeChunks, readLines } from '../../lib/logs/chunkCodec.js';
import { dbLogSink } from '../../lib/process/dbLogSink.js';
import { DurableWrites } from '../../lib/process/durableWrites.js';
import { forEachDialect } from '../support/databases.js';
import { seed, seedBuild } from './dataSeed.js';
import { DbProxy } from './outageProxy.js';

function capturingLogger(): { logger: pino.Logger; events: () => string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  return { logger, events: () => lines.map((l) => String((JSON.parse(l) as { event?: string }).event)) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('db/outage: classifying connection errors', () => {
  it('counts Sequelize connection errors and driver connection codes, not permanent failures', () => {
    for (const err of [
      { name: 'SequelizeConnectionRefusedError', message: 'connect ECONNREFUSED' },
      { name: 'SequelizeConnectionAcquireTimeoutError', message: 'Operation timeout' },
      { name: 'SequelizeConnectionError', parent: { code: 'PROTOCOL_CONNECTION_LOST' } },
      { name: 'SequelizeDatabaseError', parent: { code: 'ER_SERVER_SHUTDOWN', errno: 1053 } },
      { code: 'ETIMEDOUT' },
      { code: 'ER_CON_COUNT_ERROR', errno: 1040 },
      { message: "Can't add new command when connection is in closed state", fatal: true },
    ]) expect(isConnectionError(err), JSON.stringify(err)).to.equal(true);
    for (const err of [
      { name: 'SequelizeConnectionError', parent: { code: 'ER_BAD_DB_ERROR', errno: 1049 } },
      { name: 'SequelizeAccessDeniedError', parent: { code: 'ER_ACCESS_DENIED_ERROR' } },
      { code: 'ER_DUP_ENTRY' },
      new Error('syntax'),
    ]) expect(classifyDbError(err), JSON.stringify(err)).to.equal(null);
    expect(classifyDbError({ code: 'SQLITE_BUSY' })).to.equal('busy');
  });
});

forEachDialect('db/outage (through a TCP proxy to MariaDB)', (h) => {
  let proxy: DbProxy | undefined;
  const opened: Database[] = [];

  beforeEach(function () {
    if (h.dialect !== 'mysql') this.skip(); // sqlite has no connection to lose; see test/process/dbOutage.test.ts
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    for (const db of opened.splice(0)) {
      dbAvailability(db).stop();
      await db.close().catch(() => undefined);
    }
  });

  /** The test's database, migrated directly, and a second handle on it through the proxy. */
  async function open(): Promise<{ direct: Database; db: Database; events: () => string[] }> {
    const direct = await h.open();
    const u = new URL(h.url());
    proxy = new DbProxy({ host: u.hostname, port: Number(u.port || 3306) });
    await proxy.listen();
    u.host = `127.0.0.1:${proxy.port}`;
    const { logger, events } = capturingLogger();
    const db = await openDatabase({ url: u.toString(), basedir: h.basedir(), logger });
    opened.push(db);
    return { direct, db, events };
  }

  it('reports an outage once, probes with backoff, and wakes the waiters when the DB is back', async () => {
    const { db, events } = await open();
    const avail = dbAvailability(db, { probeBaseMs: 50, probeMaxMs: 300 });
    const changes: boolean[] = [];
    avail.onChange((up) => changes.push(up));
    const order: string[] = [];
    avail.beforeResume(async () => {
      order.push('hook');
      // The hook may use the database (the master reads its own row).
      await select(db, 'SELECT 1');
    });
    expect(avail.available).to.equal(true);
    await proxy!.cut();
    const err = await select(db, 'SELECT 1').then(() => undefined, (e: unknown) => e);
    // Every writer that fails reports it; the outage is still one.
    for (let i = 0; i < 3; i++) expect(avail.noteFailure(err), String(err)).to.equal(true);
    expect(avail.noteFailure(new Error('a syntax error')), 'other errors are not an outage').to.equal(false);
    expect(avail.available).to.equal(false);
    let woke = false;
    const waiting = avail.waitUntilAvailable().then(() => {
      woke = true;
      order.push('writer');
    });
    await sleep(1_500);
    expect(woke, 'waiters wait while the DB is away').to.equal(false);
    await proxy!.restore();
    await waiting;
    expect(avail.available).to.equal(true);
    expect(changes).to.deep.equal([false, true]);
    expect(order, 'the resume hook runs before any writer goes on').to.deep.equal(['hook', 'writer']);
    expect(events().filter((e) => e === 'db.unavailable'), 'logged once per outage').to.have.length(1);
    expect(events().filter((e) => e === 'db.available')).to.have.length(1);
  });

  it('DurableWrites outlast an outage that outlasts the per-statement retries, and keep their order', async function () {
    this.timeout(60_000);
    const { direct, db } = await open();
    const s = await seed(direct);
    const buildid = await seedBuild(direct, s);
    const { stepid } = await addStep(direct, buildid, 'shell');
    const { logid } = await addLog(direct, stepid, 'stdio', 's');
    const durable = new DurableWrites(db, db.logger);
    const sink = dbLogSink(db, durable);

    await proxy!.cut();
    // Without DurableWrites a write gives up after the statement's own few retries.
    const plain = await completeStep(db, stepid, { results: 0, completeAt: 1, hidden: false, stateString: 'x' }).then(() => undefined, (e: unknown) => e);
    expect(isConnectionError(plain), String(plain)).to.equal(true);

    const order: string[] = [];
    const lines = Array.from({ length: 50 }, (_, i) => `o line ${i + 1}`);
    const writes = (async () => {
      await sink.appendLogChunks(logid, encodeChunks(lines.slice(0, 25), 0), 25);
      order.push('chunk 1');
      await sink.appendLogChunks(logid, encodeChunks(lines.slice(25), 25), 50);
      order.push('chunk 2');
      await sink.finishLog(logid);
      order.push('log end');
      await durable.run('a step end', () => completeStep(db, stepid, { results: 0, completeAt: 1234, hidden: false, stateString: 'done' }));
      order.push('step end');
    })();
    await sleep(12_000);
    expect(order, 'nothing lands while the DB is away').to.deep.equal([]);
    expect(durable.retried, "the first write failed and waits").to.be.greaterThan(0);
    await proxy!.restore();
    await writes;
    expect(order).to.deep.equal(['chunk 1', 'chunk 2', 'log end', 'step end']);
    const log = (await getLog(direct, logid))!;
    expect(log).to.include({ num_lines: 50, complete: 1 });
    expect(readLines(await getLogChunks(direct, logid, 0, 49), 0, 49).lines).to.deep.equal(lines);
    expect(await getStep(direct, stepid)).to.include({ complete_at: 1234, state_string: 'done' });
  });

  it('stores a batch exactly once when the connection drops after the INSERT applied', async function () {
    this.timeout(60_000);
    const { direct, db } = await open();
    const s = await seed(direct);
    const buildid = await seedBuild(direct, s);
    const { stepid } = await addStep(direct, buildid, 'shell');
    const { logid } = await addLog(direct, stepid, 'stdio', 's');
    await select(db, 'SELECT 1'); // a pooled connection, past its handshake
    const sink = dbLogSink(db, new DurableWrites(db, db.logger));
    const lines = Array.from({ length: 30 }, (_, i) => `o line ${i + 1}`);

    proxy!.swallowReplies();
    const writing = sink.appendLogChunks(logid, encodeChunks(lines, 0), 30);
    // The INSERT reaches the server and commits; its answer never comes back.
    await until(async () => (await select<{ n: number }>(direct, 'SELECT COUNT(*) AS n FROM logchunks WHERE logid = ?', [logid]))[0]!.n > 0);
    await proxy!.cut();
    await sleep(500);
    await proxy!.restore();
    await writing;
    const rows = await select<{ first_line: number }>(direct, 'SELECT first_line FROM logchunks WHERE logid = ?', [logid]);
    expect(rows.map((r) => Number(r.first_line)), 'no chunk twice').to.deep.equal([0]);
    expect((await getLog(direct, logid))!.num_lines).to.equal(30);
    expect(readLines(await getLogChunks(direct, logid, 0, 29), 0, 29).lines).to.deep.equal(lines);
  });
});

async function until(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}
