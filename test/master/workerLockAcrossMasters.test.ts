import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import type { Database } from '../../lib/db/connection.js';
import { getLockHolders } from '../../lib/db/locks.js';
import { getMasters } from '../../lib/db/masters.js';
import { select } from '../../lib/db/query.js';
import { getWorkerClaims } from '../../lib/db/workerClaims.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';
import { masterName } from '../../lib/master/identity.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { repoRoot } from '../support/cli.js';
import { forEachDialect } from '../support/databases.js';
import { startSshd, type Sshd, type SshdUser } from '../support/sshd.js';
import { readBuild } from '../process/buildHarness.js';
import { makeMasterDir, removeDir, trust, until } from './masterDir.js';

/**
 * Locks and slave hosts across two `buildmaster start --nodaemon` processes on one database:
 *  - an exclusive MasterLock taken by the steps of builders on two masters (each driving its own
 *    slave host): the step timestamps, printed by the commands themselves, never overlap;
 *  - an exclusive WorkerLock shared by a builder on each master, on the one worker both list (see
 *    the reasoning above that test): held by each master in turn, steps never overlap;
 *  - two masters configured with the same slave host: only one drives it; a WorkerLock held by a
 *    build of a master killed with -9 is released when that master is declared dead, and the other
 *    master then takes the host over and runs the retried build under the same lock.
 */
const CLI_ENTRY = fileURLToPath(new URL('./cliEntry.ts', import.meta.url));
const TIMED = 'echo start $(date +%s%N); sleep 1; echo end $(date +%s%N)';

interface Proc {
  child: ChildProcess;
  output: string;
  dir: string;
}

function configSource(dbUrl: string, workers: { name: string; user: SshdUser; port: number }[], builders: string): string {
  const ws = workers.map((w) => ({ name: w.name, host: '127.0.0.1', port: w.port, user: w.user.name, privateKeyFile: w.user.privateKeyPath, basedir: join(w.user.home, 'wk'), maxBuilds: 2 }));
  return `import { defineConfig, steps, schedulers, util } from 'buildmaster';
const deploy = new util.MasterLock('deploy');
const host = new util.WorkerLock('host');
export default defineConfig({
  db: { url: ${JSON.stringify(dbUrl)} },
  www: { host: '127.0.0.1', port: 0 },
  collapseRequests: false,
  multiMaster: { heartbeatInterval: 1, deadMasterTimeout: 4 },
  workers: ${JSON.stringify(ws)},
  builders: [${builders}],
  schedulers: [],
});
`;
}

const timedStep = (locks: string) => `new steps.ShellCommand({ name: 'work', command: ${JSON.stringify(TIMED)}, logEnviron: false, locks: [${locks}] })`;

forEachDialect('locks and workers across two master processes', (h) => {
  const procs: Proc[] = [];
  let sshd: Sshd | undefined;
  let db: Database;

  before(async function () {
    this.timeout(60_000);
    sshd = await startSshd(this, { users: 2 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(`--- master pid ${p.child.pid} output ---\n${p.output.slice(-6000)}\n`);
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGKILL');
        await exited;
      }
      await removeDir(p.dir);
    }
  });

  async function startMaster(source: string): Promise<Proc> {
    const dir = await makeMasterDir({ workers: [], builders: [] });
    await writeFile(join(dir, 'master.config.ts'), source);
    await trust(dir, '127.0.0.1', sshd!.port, sshd!.hostPublicKeyLine);
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'start', '--nodaemon', dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BUILDMASTER_LOG_LEVEL: 'info' },
    });
    const proc: Proc = { child, output: '', dir };
    child.stdout!.on('data', (d) => (proc.output += d));
    child.stderr!.on('data', (d) => (proc.output += d));
    procs.push(proc);
    return proc;
  }

  async function masterId(p: Proc): Promise<number> {
    const name = masterName(p.dir);
    return until(async () => (await getMasters(db)).find((m) => m.name === name && m.active === 1)?.id, `master ${p.dir} to be up`, 60_000);
  }

  async function request(builder: string): Promise<void> {
    const builderid = await findOrCreateBuilder(db, builder);
    await addBuildset(db, { sourcestamps: [{}], reason: 'test', properties: {}, builderids: [builderid] });
  }

  interface BuildInfo {
    id: number;
    masterid: number;
    workerid: number;
    results: number | null;
  }
  async function builds(): Promise<BuildInfo[]> {
    return select<BuildInfo>(db, 'SELECT id, masterid, workerid, results FROM builds ORDER BY id');
  }

  /** The [start, end] ns of the `work` step of a finished build, from its own output (undefined if it never ran whole). */
  async function span(buildid: number): Promise<[bigint, bigint] | undefined> {
    const lines = (await readBuild(db, buildid)).step('work')?.log('stdio')?.lines ?? [];
    const at = (word: string) => lines.find((l) => l.startsWith(`o${word} `))?.slice(word.length + 2);
    const [s, e] = [at('start'), at('end')];
    return s && e ? [BigInt(s), BigInt(e)] : undefined;
  }

  function expectDisjoint(spans: [bigint, bigint][]): void {
    const sorted = [...spans].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1]![1] <= sorted[i]![0], `step ${i - 1} ends after step ${i} starts: ${sorted.map(String).join(' | ')}`).to.equal(true);
  }

  const dbUrl = () => (h.dialect === 'sqlite' ? `sqlite:///${join(h.basedir(), 'state.sqlite')}` : h.url());

  it('an exclusive MasterLock taken by steps on two masters: no two steps ever overlap', async function () {
    this.timeout(180_000);
    db = await h.open();
    const [u1, u2] = sshd!.users as [SshdUser, SshdUser];
    const a = await startMaster(configSource(dbUrl(), [{ name: 'w1', user: u1, port: sshd!.port }], `{ name: 'ba', workernames: ['w1'], steps: [${timedStep("deploy.access('exclusive')")}] }`));
    const b = await startMaster(configSource(dbUrl(), [{ name: 'w2', user: u2, port: sshd!.port }], `{ name: 'bb', workernames: ['w2'], steps: [${timedStep("deploy.access('exclusive')")}] }`));
    const [aId, bId] = [await masterId(a), await masterId(b)];
    for (let i = 0; i < 3; i++) {
      await request('ba');
      await request('bb');
    }
    await until(async () => (await builds()).filter((x) => x.results !== null).length === 6, 'six builds to finish', 120_000, 250);
    const all = await builds();
    expect(all.map((x) => x.results)).to.deep.equal([SUCCESS, SUCCESS, SUCCESS, SUCCESS, SUCCESS, SUCCESS]);
    expect(new Set(all.map((x) => x.masterid))).to.deep.equal(new Set([aId, bId]));
    const spans = await Promise.all(all.map((x) => span(x.id)));
    expect(spans.every((s) => s !== undefined)).to.equal(true);
    expectDisjoint(spans as [bigint, bigint][]);
    expect(await getLockHolders(db)).to.deep.equal([]);
  });

  /*
   * "An exclusive WorkerLock shared by builders on two masters" (issue 5). A WorkerLock has one
   * instance per worker (Buildbot's getLockForWorker; here the `locks` row (WorkerLock, name,
   * workerid)), so builders on two masters share an instance only when both run on the same worker.
   * The same host reached under two worker names would be two instances, which never exclude each
   * other: that is not sharing. And a worker is driven by one master at a time (worker_claims), so
   * at any moment the builds under the instance all belong to one master; what must hold across
   * masters is the handover. Here master A has builder `ba` and master B builder `bb`, both on
   * worker w1, both steps taking host.access('exclusive'). A drives w1 and builds the `ba`
   * requests while the `bb` ones wait; A is stopped (SIGTERM) while its second step holds the lock;
   * B then takes w1 over and builds `bb`. The same lock row is held by both masters in turn, and
   * the steps' own timestamps never overlap, the handover included.
   */
  it('an exclusive WorkerLock shared by a builder on each master (one worker): same lock row, held by each master in turn, steps never overlap', async function () {
    this.timeout(240_000);
    db = await h.open();
    const [u1] = sshd!.users as [SshdUser];
    const worker = [{ name: 'w1', user: u1, port: sshd!.port }];
    const builder = (name: string) => `{ name: '${name}', workernames: ['w1'], steps: [${timedStep("host.access('exclusive')")}] }`;
    const a = await startMaster(configSource(dbUrl(), worker, builder('ba')));
    const aId = await masterId(a);
    const w1 = await findOrCreateWorker(db, 'w1');
    await until(async () => (await getWorkerClaims(db)).find((c) => c.workerid === w1)?.masterid === aId, 'A to claim w1', 30_000);
    const b = await startMaster(configSource(dbUrl(), worker, builder('bb')));
    const bId = await masterId(b);

    // Who holds the WorkerLock, seen every 50 ms for the whole test.
    const seen: { lockid: number; workerid: number; masterid: number }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const l of await getLockHolders(db)) if (l.lockname === 'host') seen.push({ lockid: Number(l.lockid), workerid: Number(l.workerid), masterid: Number(l.masterid) });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      for (let i = 0; i < 2; i++) {
        await request('ba');
        await request('bb');
      }
      // A's second build holds the lock: stop A now, gracefully (its build finishes, then it lets w1 go).
      await until(async () => (await builds()).filter((x) => x.masterid === aId).length === 2 && (await getLockHolders(db)).some((l) => l.masterid === aId), "A's second build to hold the lock", 60_000, 50);
      expect((await builds()).filter((x) => x.masterid === bId), 'B cannot build while A drives w1').to.deep.equal([]);
      const stopped = new Promise((r) => a.child.once('exit', r));
      a.child.kill('SIGTERM');
      await stopped;
      await until(async () => (await builds()).filter((x) => x.masterid === bId && x.results !== null).length === 2, 'B to build both bb requests on w1', 90_000, 250);
    } finally {
      polling = false;
      await poller;
    }

    const rows = await select<{ id: number; masterid: number; workerid: number; results: number; builder: string }>(
      db,
      'SELECT b.id, b.masterid, b.workerid, b.results, r.name AS builder FROM builds b JOIN builders r ON r.id = b.builderid ORDER BY b.id',
    );
    expect(rows.map((r) => [Number(r.masterid), r.builder, r.results])).to.deep.equal([[aId, 'ba', SUCCESS], [aId, 'ba', SUCCESS], [bId, 'bb', SUCCESS], [bId, 'bb', SUCCESS]]);
    expect(new Set(rows.map((r) => Number(r.workerid))), 'every build on w1').to.deep.equal(new Set([w1]));
    expect(new Set(seen.map((s) => s.masterid)), 'both masters held the lock').to.deep.equal(new Set([aId, bId]));
    expect(new Set(seen.map((s) => `${s.lockid}/${s.workerid}`)), "one WorkerLock instance: w1's").to.deep.equal(new Set([`${seen[0]!.lockid}/${w1}`]));
    const spans = await Promise.all(rows.map((r) => span(r.id)));
    expect(spans.every((s) => s !== undefined), 'every step ran whole').to.equal(true);
    expectDisjoint(spans as [bigint, bigint][]);
    expect(await getLockHolders(db)).to.deep.equal([]);
  });

  it('one master drives a shared slave host; kill -9 it mid-build and its WorkerLock and host pass to the other', async function () {
    this.timeout(240_000);
    db = await h.open();
    const [u1] = sshd!.users as [SshdUser];
    const builders = ['x', 'y'].map((n) => `{ name: 'b${n}', workernames: ['w1'], locks: [host.access('exclusive')], steps: [${timedStep('')}] }`).join(', ');
    const source = configSource(dbUrl(), [{ name: 'w1', user: u1, port: sshd!.port }], builders);
    const a = await startMaster(source);
    const aId = await masterId(a);
    const w1 = await findOrCreateWorker(db, 'w1');
    await until(async () => (await getWorkerClaims(db)).find((c) => c.workerid === w1)?.masterid === aId, 'A to claim w1', 30_000);
    const b = await startMaster(source);
    const bId = await masterId(b);

    // Two builders, one WorkerLock: their builds on w1 take turns, all on A.
    await request('bx');
    await request('by');
    await until(async () => (await builds()).filter((x) => x.results !== null).length === 2, 'two builds to finish', 60_000, 250);
    expect((await builds()).map((x) => [x.masterid, x.results])).to.deep.equal([[aId, SUCCESS], [aId, SUCCESS]]);
    const connected = await select<{ masterid: number }>(db, 'SELECT masterid FROM connected_workers WHERE workerid = ?', [w1]);
    expect(connected.map((r) => Number(r.masterid)), 'only A connects to w1').to.deep.equal([aId]);

    // A long build holds the WorkerLock when A dies; B can neither drive w1 nor take the lock until A is declared dead.
    await request('bx');
    await until(async () => (await getLockHolders(db)).some((l) => l.masterid === aId && l.lockname === 'host'), 'A to hold the WorkerLock', 60_000, 100);
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    await until(async () => (await getWorkerClaims(db)).find((c) => c.workerid === w1)?.masterid === bId, 'B to take w1 over', 60_000, 250);
    await until(async () => (await builds()).filter((x) => x.masterid === bId && x.results !== null).length >= 1, 'B to run the retried build', 60_000, 250);

    const all = await builds();
    expect(all.filter((x) => x.masterid === aId).map((x) => x.results)).to.deep.equal([SUCCESS, SUCCESS, RETRY]);
    expect(all.filter((x) => x.masterid === bId).map((x) => x.results)).to.deep.equal([SUCCESS]);
    expect((await getLockHolders(db)).filter((l) => l.masterid === aId), 'the dead master holds no lock').to.deep.equal([]);
    const spans = (await Promise.all(all.map((x) => span(x.id)))).filter((s): s is [bigint, bigint] => s !== undefined);
    expect(spans.length).to.be.greaterThanOrEqual(3);
    expectDisjoint(spans);

    // A clean stop hands the host back at once (no dead-master timeout).
    const c = await startMaster(source);
    const cId = await masterId(c);
    const stopped = new Promise((r) => b.child.once('exit', r));
    b.child.kill('SIGTERM');
    await stopped;
    await until(async () => (await getWorkerClaims(db)).find((x) => x.workerid === w1)?.masterid === cId, 'C to claim w1 after B stopped', 15_000, 100);
    expect(await getLockHolders(db)).to.deep.equal([]);
  });
});
