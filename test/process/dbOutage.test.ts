import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { getLogChunks, getLogs } from '../../lib/db/logs.js';
import { upgradeDatabase } from '../../lib/db/migrate.js';
import { select } from '../../lib/db/query.js';
import { getSteps } from '../../lib/db/steps.js';
import { readLines } from '../../lib/logs/chunkCodec.js';
import { Master } from '../../lib/master/master.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import mysql from 'mysql2/promise';
import { getMaster } from '../../lib/db/masters.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { DbProxy } from '../db/outageProxy.js';
import { configSource, freePort, makeMasterDir, removeDir, trust, until, type TestWorker } from '../master/masterDir.js';
import { submitRequests } from '../master/masterProcess.js';
import { startSshd, type Sshd } from '../support/sshd.js';

/**
 * Issue 8.4: the database goes away in the middle of builds and comes back. A real master runs
 * three builds on a real sshd, each printing numbered lines for ~20 s (one ends while the database
 * is gone); the database is taken away for 10 s; every build must finish SUCCESS, with every log
 * line stored exactly once and no step twice.
 *   - MariaDB: our own server (tools/ci/mariadb-start.sh on a free port), stopped by its PID and
 *     started again on the same datadir and port.
 *   - sqlite: another process holds the file's write lock (BEGIN EXCLUSIVE) for 10 s.
 */
const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MARIADB_START = join(REPO, 'tools/ci/mariadb-start.sh');
const MARIADB_STOP = join(REPO, 'tools/ci/mariadb-stop.sh');
const OUTAGE_MS = 10_000;
/** Lines of a long build: ~0.05 s apart, so it runs ~20 s, through the outage. */
const LONG_LINES = 360;
/** The short build prints at least this many, then stops once the outage has begun. */
const SHORT_MIN_LINES = 20;

function numberedCommand(tag: string, lines: number): string {
  return `i=1; while [ $i -le ${lines} ]; do echo "${tag} $i"; i=$((i+1)); sleep 0.05; done`;
}

/** Prints numbered lines until `mark` exists, then writes how many to `count`: its end falls in the outage. */
function untilMarkCommand(tag: string, mark: string, count: string): string {
  return `i=1; while [ $i -le ${SHORT_MIN_LINES} ] || [ ! -e ${mark} ]; do echo "${tag} $i"; i=$((i+1)); sleep 0.05; done; echo $((i-1)) > ${count}`;
}

/** A pino logger whose records the test can read back. */
function capturingLogger(): { logger: pino.Logger; events: () => { event?: string; [k: string]: unknown }[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  return { logger, events: () => lines.map((l) => JSON.parse(l) as { event?: string }) };
}

async function stdioLines(db: Database, stepid: number): Promise<{ lines: string[]; numLines: number; complete: boolean }> {
  const [log] = await getLogs(db, stepid);
  if (!log) return { lines: [], numLines: 0, complete: false };
  const lines = readLines(await getLogChunks(db, log.id, 0, 1e9), 0, 1e9).lines;
  return { lines, numLines: Number(log.num_lines), complete: Number(log.complete) === 1 };
}

describe('DB outage in the middle of builds (real master, real sshd)', function () {
  this.timeout(300_000);
  let sshd: Sshd;
  let dir: string | undefined;
  let master: Master | undefined;
  const dbs: Database[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  before(async function () {
    this.timeout(60_000);
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => undefined);
    master = undefined;
    for (const db of dbs.splice(0)) await db.close().catch(() => undefined);
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await removeDir(dir);
    dir = undefined;
  });

  /**
   * Starts a master on `url` with three builders, waits until every build has stored some lines,
   * calls `interrupt` (which takes the DB away for OUTAGE_MS and gives it back), then checks that
   * everything was written exactly once.
   */
  async function scenario(url: string, interrupt: (outageBegun: () => Promise<void>) => Promise<void>): Promise<{ events: { event?: string; [k: string]: unknown }[] }> {
    const tag = `n${randomBytes(3).toString('hex')}`;
    const u = sshd.users[0];
    const worker: TestWorker = { name: 'w1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, `wk-${tag}`), maxBuilds: 3 };
    const mark = join(u.home, `mark-${tag}`);
    const count = join(u.home, `count-${tag}`);
    const builders = [
      { name: 'long1', workernames: ['w1'], command: numberedCommand(tag, LONG_LINES) },
      { name: 'long2', workernames: ['w1'], command: numberedCommand(tag, LONG_LINES) },
      // Its command, log end, step end, build end and request end all come while the DB is away.
      { name: 'short', workernames: ['w1'], command: untilMarkCommand(tag, mark, count) },
    ];
    cleanups.push(() => rm(mark, { force: true }));
    cleanups.push(() => rm(count, { force: true }));
    dir = await makeMasterDir({ workers: [worker], builders, wwwPort: await freePort() });
    await writeFile(join(dir, 'master.config.ts'), configSource({ workers: [worker], builders }).replace('sqlite:///state.sqlite', url));
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    const check = await openDatabase({ url, basedir: dir });
    dbs.push(check);
    await upgradeDatabase(check);

    const { logger, events } = capturingLogger();
    if (process.env.BM_OUTAGE_DEBUG) cleanups.push(async () => console.log(events().filter((e) => (e.level as number) >= 40)));
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 }, logger });
    const { bsid, brids } = await submitRequests(check);
    expect(brids).to.have.length(3);

    // Every build is running its command and has stored some of its lines.
    await until(async () => {
      for (const brid of brids) {
        const [b] = await getBuildsForRequest(check, brid);
        const step = b && (await getSteps(check, b.id)).find((s) => s.name === 'run');
        if (!step || (await stdioLines(check, step.id)).lines.length < 10) return false;
      }
      return true;
    }, 'every build to store its first lines', 90_000);

    await interrupt(() => writeFile(mark, ''));
    const expected: Record<string, number> = { long1: LONG_LINES, long2: LONG_LINES, short: Number(await readFile(count, 'utf8')) };
    expect(expected.short).to.be.at.least(SHORT_MIN_LINES);

    await until(async () => (await getRequestsOfBuildset(check, bsid)).every((r) => Number(r.complete) === 1), 'every request to complete', 180_000, 250);
    const requests = await getRequestsOfBuildset(check, bsid);
    expect(requests.map((r) => Number(r.results)), 'request results').to.deep.equal([SUCCESS, SUCCESS, SUCCESS]);
    for (const brid of brids) {
      const builds = await getBuildsForRequest(check, brid);
      expect(builds, 'one build per request: none failed and ran again').to.have.length(1);
      const build = builds[0]!;
      expect(Number(build.results), `build ${build.id} ${build.state_string}`).to.equal(SUCCESS);
      expect(build.complete_at).to.not.equal(null);
      const steps = await getSteps(check, build.id);
      expect(steps.map((s) => [Number(s.number), s.name]), 'no step written twice').to.deep.equal([
        [0, 'worker_preparation'],
        [1, 'run'],
      ]);
      expect(steps.every((s) => s.complete_at !== null && Number(s.results) === SUCCESS), 'every step ended SUCCESS').to.equal(true);
      const [builder] = await select<{ name: string }>(check, 'SELECT name FROM builders WHERE id = ?', [build.builderid]);
      const want = expected[builder!.name]!;
      const { lines, numLines, complete } = await stdioLines(check, steps[1]!.id);
      // Stored stdout lines carry the channel prefix 'o'; the header echoes the command, which also holds the tag.
      const numbered = new RegExp(`^o${tag} (\\d+)$`);
      const numbers = lines.map((l) => numbered.exec(l)?.[1]).filter((n) => n !== undefined).map(Number);
      const missing = Array.from({ length: want }, (_, i) => i + 1).filter((n) => !numbers.includes(n));
      expect(numbers.length, `${builder!.name}: every numbered line stored once (missing ${missing.join(' ')})`).to.equal(want);
      expect(numbers, 'in order, none missing, none twice').to.deep.equal(Array.from({ length: want }, (_, i) => i + 1));
      expect(numLines, 'logs.num_lines counts what is stored').to.equal(lines.length);
      expect(complete, 'the log is finished').to.equal(true);
    }
    return { events: events() };
  }

  it('MariaDB stopped for 10 s and started again: every build finishes, every log line stored exactly once', async function () {
    if (!existsSync('/usr/sbin/mariadbd') || process.getuid?.() !== 0) return this.skip();
    const base = await mkdtemp(join(tmpdir(), 'bm-outage-mariadb-'));
    let port = await freePort();
    while (port === 3307 || port === 3317) port = await freePort();
    cleanups.push(async () => {
      await run('bash', [MARIADB_STOP, base]).catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    });
    const url = (await run('bash', [MARIADB_START, base, String(port)], { timeout: 60_000 })).stdout.trim().split('\n').pop()!;
    expect(url).to.match(/^mysql:\/\//);

    let stoppedAt = 0;
    let startedAt = 0;
    const { events } = await scenario(url, async (outageBegun) => {
      await run('bash', [MARIADB_STOP, base]); // by its PID
      stoppedAt = Date.now();
      await outageBegun();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await run('bash', [MARIADB_START, base, String(port)], { timeout: 60_000 });
      startedAt = Date.now();
    });
    expect(startedAt - stoppedAt).to.be.at.least(OUTAGE_MS);
    const names = events.map((e) => e.event);
    expect(names.filter((n) => n === 'db.unavailable'), 'the outage is reported once').to.have.length(1);
    expect(names.filter((n) => n === 'db.available'), 'and its end once').to.have.length(1);
    expect(names.filter((n) => n === 'distributor.passFailed' || n === 'master.heartbeatFailed'), 'no error per poll').to.have.length(0);
  });

  it('sqlite locked by another process for 10 s (BEGIN EXCLUSIVE): builds go on and everything is written after', async () => {
    let locker: ChildProcess | undefined;
    cleanups.push(async () => {
      if (locker && locker.exitCode === null) locker.kill('SIGKILL'); // only the locker this test started
    });
    let lockedFor = 0;
    await scenario('sqlite:///state.sqlite', async (outageBegun) => {
      const script = `
        const sqlite3 = require('sqlite3');
        const db = new sqlite3.Database(process.argv[1]);
        db.configure('busyTimeout', 30000);
        db.exec('BEGIN EXCLUSIVE', (err) => {
          if (err) { console.error(err.message); process.exit(1); }
          const t0 = Date.now();
          console.log('locked');
          setTimeout(() => db.exec('COMMIT', () => db.close(() => { console.log('unlocked ' + (Date.now() - t0)); })), ${OUTAGE_MS});
        });`;
      const child = spawn(process.execPath, ['-e', script, join(dir!, 'state.sqlite')], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
      locker = child;
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await until(() => out.includes('locked'), 'the other process to lock the DB', 30_000, 20);
      await outageBegun();
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, out).to.equal(0);
      lockedFor = Number(/unlocked (\d+)/.exec(out)?.[1] ?? 0);
    });
    expect(lockedFor).to.be.at.least(OUTAGE_MS);
  });
  it('an outage past deadMasterTimeout: another master expires us; back online, our build stops RETRY and the request runs again', async function () {
    const base = process.env.BUILDMASTER_TEST_DB_URL;
    if (!base) return this.skip();
    // A throwaway database on the dev server; master A reaches it through a proxy we can cut, B directly.
    const name = `bmtest_${randomBytes(4).toString('hex')}`;
    const admin = new URL(base);
    const adminConn = () => mysql.createConnection({ host: admin.hostname, port: Number(admin.port || 3306), user: decodeURIComponent(admin.username), password: decodeURIComponent(admin.password) });
    const c = await adminConn();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    cleanups.push(async () => {
      const d = await adminConn();
      await d.query(`DROP DATABASE IF EXISTS ${name}`);
      await d.end();
    });
    const direct = new URL(base);
    direct.pathname = `/${name}`;
    const proxy = new DbProxy({ host: admin.hostname, port: Number(admin.port || 3306) });
    await proxy.listen();
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(direct.toString());
    viaProxy.host = `127.0.0.1:${proxy.port}`;

    const tag = `x${randomBytes(3).toString('hex')}`;
    const u = sshd.users[0];
    const marker = join(u.home, `first-${tag}`);
    cleanups.push(() => rm(marker, { force: true }));
    // The first run prints numbered lines for ~15 s (through the outage); the rerun passes at once.
    const command = `if [ ! -e ${marker} ]; then touch ${marker}; ${numberedCommand(tag, 260)}; else echo rerun; fi`;
    const fastExpiry = (src: string) => src.replace('multiMaster: { heartbeatInterval: 1 }', 'multiMaster: { heartbeatInterval: 1, deadMasterTimeout: 3 }');
    const workerA: TestWorker = { name: 'w1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, `wk-${tag}`) };
    // B has the builder too, but its only worker never answers: it expires A and runs nothing.
    const workerB: TestWorker = { name: 'w9', port: await freePort(), user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, `wk9-${tag}`) };
    dir = await makeMasterDir({ workers: [workerA], builders: [{ name: 'slow', workernames: ['w1'], command }] });
    await writeFile(join(dir, 'master.config.ts'), fastExpiry(configSource({ workers: [workerA], builders: [{ name: 'slow', workernames: ['w1'], command }], wwwPort: await freePort() }).replace('sqlite:///state.sqlite', viaProxy.toString())));
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    const dirB = await makeMasterDir({ workers: [workerB], builders: [{ name: 'slow', workernames: ['w9'], command }] });
    cleanups.push(() => removeDir(dirB));
    await writeFile(join(dirB, 'master.config.ts'), fastExpiry(configSource({ workers: [workerB], builders: [{ name: 'slow', workernames: ['w9'], command }], wwwPort: await freePort() }).replace('sqlite:///state.sqlite', direct.toString())));

    const check = await openDatabase({ url: direct.toString(), basedir: dir });
    dbs.push(check);
    await upgradeDatabase(check);
    const { logger, events } = capturingLogger();
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 }, logger });
    const masterA = master;
    const masterB = await Master.start({ basedir: dirB, sshBackoff: { baseMs: 100, maxMs: 500 } });
    cleanups.push(() => masterB.stop({ graceful: false }).then(() => undefined));
    // Both masters have 'slow': one request for it, added as a scheduler would.
    const [slow] = await select<{ id: number }>(check, "SELECT id FROM builders WHERE name = 'slow'");
    const added = await addBuildset(check, { sourcestamps: [{ codebase: '' }], reason: 'test', properties: {}, builderids: [Number(slow!.id)] });
    const bsid = added.bsid;
    const brids = [added.brids[Number(slow!.id)]!];

    const first = await until(async () => {
      const [b] = await getBuildsForRequest(check, brids[0]!);
      const step = b && (await getSteps(check, b.id)).find((st) => st.name === 'run');
      return step && (await stdioLines(check, step.id)).lines.length >= 10 ? b : undefined;
    }, 'the build to store its first lines', 60_000);
    expect(Number(first.masterid)).to.equal(masterA.masterid);

    await proxy.cut();
    await until(async () => Number((await getMaster(check, masterA.masterid))?.active) === 0, 'master B to expire master A', 30_000, 200);
    await proxy.restore();

    await until(async () => (await getRequestsOfBuildset(check, bsid)).every((r) => Number(r.complete) === 1), 'the request to run again and complete', 120_000, 250);
    const builds = await getBuildsForRequest(check, brids[0]!);
    expect(builds.map((b) => Number(b.results)), 'the expired build ends RETRY (not SUCCESS over its RETRY), then runs again').to.deep.equal([RETRY, SUCCESS]);
    expect(builds.every((b) => Number(b.masterid) === masterA.masterid)).to.equal(true);
    expect(Number((await getRequestsOfBuildset(check, bsid))[0]!.results)).to.equal(SUCCESS);
    expect(events().filter((e) => e.event === 'master.expiredDuringOutage'), 'noticed as the DB came back').to.have.length(1);
    const [, run1] = await getSteps(check, builds[0]!.id);
    const numbers = (await stdioLines(check, run1!.id)).lines.map((l) => new RegExp(`^o${tag} (\\d+)$`).exec(l)?.[1]).filter((n) => n !== undefined).map(Number);
    expect(numbers.length, 'lines before the stop stored').to.be.greaterThan(10);
    expect(numbers, 'every line of the stopped build once, in order').to.deep.equal(Array.from({ length: numbers.length }, (_, i) => i + 1));
    expect(Number((await getMaster(check, masterA.masterid))?.active), 'A rejoined').to.equal(1);
  });
});
