import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Output } from '../../lib/cli/output.js';
import { trustWorker } from '../../lib/cli/trustWorker.js';
import { EmbeddedSshHost, ensureKeyPair } from '../../lib/demo/embeddedSshHost.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { claimRequests, getRequest, getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { getBuildsForRequest, getUnfinishedBuilds } from '../../lib/db/builds.js';
import { getSteps } from '../../lib/db/steps.js';
import { addBuildset, getBuildset, getBuildsetProperties } from '../../lib/db/buildsets.js';
import { findOrCreateMaster, getMaster } from '../../lib/db/masters.js';
import { getWorker } from '../../lib/db/workers.js';
import { Master } from '../../lib/master/master.js';
import { masterName } from '../../lib/master/identity.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { createLogger } from '../../lib/util/log.js';
import { WwwServer } from '../../lib/www/app.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { freePort, makeMasterDir, removeDir, trust, until, type ConfigSpec, type TestWorker } from './masterDir.js';

/**
 * The Master against a real OpenSSH sshd: builds run as two throwaway users (two workers) on this
 * machine. Each step appends its start and end time (ns) to a trace file in the worker's home, so
 * the slaves themselves tell how many builds ran at once.
 */
/** BM_TEST_LOG=FILE keeps the masters' logs of a run (for debugging a failure). */
function testLogger() {
  return process.env.BM_TEST_LOG ? createLogger({ destination: process.env.BM_TEST_LOG, level: 'debug' }) : undefined;
}

const CLI_ENTRY = fileURLToPath(new URL('./cliEntry.ts', import.meta.url));

describe('Master (real sshd)', function () {
  this.timeout(180_000);
  let sshd: Sshd;
  let dir: string | undefined;
  let master: Master | undefined;
  const extraDbs: Database[] = [];

  before(async function () {
    sshd = await startSshd(this, { users: 2 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    master = undefined;
    for (const db of extraDbs.splice(0)) await db.close();
    await removeDir(dir);
    dir = undefined;
  });

  function worker(i: number, maxBuilds = 1): TestWorker {
    const u = sshd.users[i];
    return { name: `w${i + 1}`, port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, 'wk'), maxBuilds };
  }

  /** Appends "start <ns> / end <ns>" around the work to ~/trace on the slave. */
  const traced = (work: string) => `echo "start $(date +%s%N)" >> "$HOME/trace"; ${work}; echo "end $(date +%s%N)" >> "$HOME/trace"`;

  async function maxConcurrency(home: string): Promise<{ max: number; runs: number }> {
    let text = '';
    try {
      text = await readFile(join(home, 'trace'), 'utf8');
    } catch {
      return { max: 0, runs: 0 };
    }
    const events = text
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([kind, ns]) => ({ delta: kind === 'start' ? 1 : -1, t: BigInt(ns) }))
      .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.delta - b.delta)); // an end before a start at the same instant
    let now = 0;
    let max = 0;
    for (const e of events) max = Math.max(max, (now += e.delta));
    return { max, runs: events.filter((e) => e.delta === 1).length };
  }

  async function start(spec: ConfigSpec): Promise<Master> {
    dir = await makeMasterDir(spec);
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 }, logger: testLogger() });
    return master;
  }

  async function openDb(): Promise<Database> {
    const db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir! });
    extraDbs.push(db);
    return db;
  }

  it('builds 20 forced requests on 2 builders and 2 workers, within maxBuilds, touching no other master\'s claims', async () => {
    const spec: ConfigSpec = {
      workers: [worker(0, 2), worker(1, 1)],
      builders: [
        { name: 'alpha', workernames: ['w1', 'w2'], command: traced('sleep 0.3') },
        { name: 'beta', workernames: ['w1', 'w2'], command: traced('sleep 0.3') },
      ],
    };
    dir = await makeMasterDir(spec);
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    // Another master holds a claim on a request of alpha: ours must leave it alone.
    const pre = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
    const other = await findOrCreateMaster(pre, 'elsewhere:/masters/other');
    const alphaId = await findOrCreateBuilder(pre, 'alpha');
    const foreign = await addBuildset(pre, { sourcestamps: [{ codebase: '' }], reason: 'theirs', properties: {}, builderids: [alphaId] });
    const foreignBrid = foreign.brids[alphaId];
    await claimRequests(pre, [foreignBrid], other, 1_700_000_000);
    await pre.close();

    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 }, logger: testLogger() });
    const m = master;
    const completed = new Set<number>();
    m.bus.subscribe(['buildsets', '*', 'complete'], (_k, msg) => completed.add((msg as { bsid: number }).bsid));
    const forced: { bsid: number; brids: Record<number, number> }[] = [];
    for (let i = 0; i < 10; i++) forced.push(await m.force('force', { reason: `run ${i}`, owner: 'tester <t@example.org>' }));
    await until(() => forced.every((f) => completed.has(f.bsid)), 'all 10 buildsets to complete', 150_000);

    const numbers = new Map<number, number[]>();
    for (const f of forced) {
      expect(await getBuildset(m.db, f.bsid)).to.include({ complete: 1, results: SUCCESS });
      for (const [builderid, brid] of Object.entries(f.brids)) {
        expect(await getRequest(m.db, brid)).to.include({ complete: 1, results: SUCCESS, claimed_by_masterid: m.masterid });
        const builds = await getBuildsForRequest(m.db, brid);
        expect(builds.map((b) => b.results)).to.deep.equal([SUCCESS]);
        numbers.set(Number(builderid), [...(numbers.get(Number(builderid)) ?? []), builds[0].number]);
      }
    }
    expect([...numbers.values()].map((n) => n.sort((a, b) => a - b))).to.deep.equal([
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ]);
    const r = await getRequest(m.db, foreignBrid);
    expect(r).to.include({ complete: 0, claimed_by_masterid: other });
    expect(await getBuildsForRequest(m.db, foreignBrid)).to.deep.equal([]);

    const w1 = await maxConcurrency(sshd.users[0].home);
    const w2 = await maxConcurrency(sshd.users[1].home);
    expect(w1.runs + w2.runs).to.equal(20);
    expect(w1.max).to.be.at.most(2);
    expect(w2.max).to.be.at.most(1);
    expect(w1.max).to.equal(2); // and the capacity was used
  });

  it('marks itself active, registers its builders and workers, and cleans up at stop', async () => {
    const m = await start({ workers: [worker(0)], builders: [{ name: 'solo', workernames: ['w1'], command: 'true' }] });
    expect(m.name).to.equal(masterName(dir!));
    expect(await getMaster(m.db, m.masterid)).to.include({ active: 1 });
    const w = m.workers.get('w1')!;
    const live = await until(async () => {
      const row = await getWorker(m.db, w.workerid);
      return row?.connected_to.length && row.workerinfo.host ? row : undefined;
    }, 'w1 to be recorded as connected');
    const solo = m.builderIds().get('solo')!;
    expect(live).to.deep.include({ connected_to: [m.masterid], configured_on: [{ builderid: solo, masterid: m.masterid }] });
    expect(live!.workerinfo).to.include({ host: '127.0.0.1', host_key: sshd.hostKeyFingerprint });
    const { bsid } = await m.force('force', {});
    await m.bus.waitFor(['buildsets', String(bsid), 'complete'], () => true, 60_000);
    await m.stop();
    master = undefined;
    const db = await openDb();
    expect(await getMaster(db, m.masterid)).to.include({ active: 0 });
    expect(await getWorker(db, w.workerid)).to.deep.include({ connected_to: [], configured_on: [] });
  });

  it('never gives a build to a worker whose host key is unknown, and uses it once trusted', async () => {
    const hostDir = await mkdtemp(join(tmpdir(), 'bm-embedded-'));
    const key = await ensureKeyPair(join(hostDir, 'client_key'));
    const host = await EmbeddedSshHost.start({ dir: hostDir, authorizedKey: key.publicKeyLine, home: hostDir });
    try {
      const stranger: TestWorker = { name: 'stranger', port: host.port, user: 'root', privateKeyFile: key.privateKeyPath, basedir: join(hostDir, 'wk'), maxBuilds: 4 };
      const m = await start({
        workers: [worker(0, 1), stranger],
        builders: [{ name: 'any', workernames: ['w1', 'stranger'], command: 'sleep 0.1' }],
      });
      const s = m.workers.get('stranger')!;
      await until(() => m.workers.get('w1')!.connection.isConnected(), 'w1 to connect');
      await until(() => (s.connection.lostReason() ?? '').includes('trust-worker'), 'the stranger to be refused with the trust command');
      // Why it is not building is recorded for the UI, not just logged.
      const refused = await until(async () => {
        const info = (await getWorker(m.db, s.workerid))?.workerinfo as Record<string, unknown> | undefined;
        return String(info?.last_error ?? '').includes('trust-worker') ? info : undefined;
      }, 'the refusal to be recorded in the worker info');
      expect(refused).to.include({ host: '127.0.0.1', platform: 'posix' });
      expect(refused.last_error_at).to.be.a('number');
      const forced = [];
      for (let i = 0; i < 4; i++) forced.push(await m.force('force', {}));
      await Promise.all(forced.map((f) => m.bus.waitFor(['buildsets', String(f.bsid), 'complete'], () => true, 60_000)));
      for (const f of forced) {
        const [b] = await getBuildsForRequest(m.db, Object.values(f.brids)[0]);
        expect(b.workerid).to.equal(m.workers.get('w1')!.workerid);
      }
      expect(s.connection.isConnected()).to.equal(false);

      // trust-worker writes known_hosts; the next reconnect attempt uses it, no restart.
      let printed = '';
      await trustWorker(dir!, 'stranger', {}, new Output((t) => void (printed += t), () => {}));
      expect(printed).to.contain(host.hostKeyFingerprint);
      await until(() => s.connection.isConnected(), 'the stranger to connect once trusted', 30_000);
    } finally {
      await master?.stop({ graceful: false }).catch(() => {});
      master = undefined;
      await host.stop();
      await rm(hostDir, { recursive: true, force: true });
    }
  });

  it('ends a build RETRY when the connection drops mid-build, and builds the request again after reconnecting', async () => {
    const m = await start({ workers: [worker(0)], builders: [{ name: 'flaky', workernames: ['w1'], command: 'sleep 2' }] });
    const w = m.workers.get('w1')!;
    await until(() => w.connection.isConnected(), 'w1 to connect');
    const started = m.bus.waitFor(['steps', '*', 'started'], (msg: { name?: string }) => msg.name === 'run', 30_000);
    const { bsid, brids } = await m.force('force', {});
    const brid = Object.values(brids)[0];
    await started;
    await sshd.killSessions();
    await m.bus.waitFor(['buildsets', String(bsid), 'complete'], () => true, 90_000);
    const builds = await getBuildsForRequest(m.db, brid);
    expect(builds.map((b) => b.results)).to.deep.equal([RETRY, SUCCESS]);
    expect(builds[1].number).to.equal(builds[0].number + 1);
    // The loss is in the worker's record: when, why, and when it was last seen (then reconnected).
    const info = (await getWorker(m.db, w.workerid))!.workerinfo as Record<string, unknown>;
    expect(info.disconnect_reason).to.be.a('string').that.is.not.empty;
    expect(info.disconnected_at).to.be.a('number');
    expect(info.connected_at as number).to.be.at.least(info.disconnected_at as number);
    expect(info.last_seen).to.be.a('number');
    expect(await getRequest(m.db, brid)).to.include({ complete: 1, results: SUCCESS });
  });

  it('quarantines a worker that cannot be prepared; the request is built on another', async () => {
    const broken = { ...worker(0), name: 'broken', basedir: '/proc/buildmaster-cannot-create-this' };
    const m = await start({
      workers: [broken, worker(1)],
      builders: [{
        name: 'picky',
        workernames: ['broken', 'w2'],
        command: 'true',
        // Buildbot's nextWorker(builder, workers, request): prefer the broken one while it is offered.
        extra: "nextWorker: (_b: any, ws: any[]) => ws.find((w) => w.worker.workername === 'broken') ?? ws[0],",
      }],
    });
    await until(() => m.workers.get('broken')!.connection.isConnected() && m.workers.get('w2')!.connection.isConnected(), 'both workers to connect');
    const { bsid, brids } = await m.force('force', {});
    await m.bus.waitFor(['buildsets', String(bsid), 'complete'], () => true, 60_000);
    const builds = await getBuildsForRequest(m.db, Object.values(brids)[0]);
    expect(builds.map((b) => [b.workerid, b.results])).to.deep.equal([
      [m.workers.get('broken')!.workerid, RETRY],
      [m.workers.get('w2')!.workerid, SUCCESS],
    ]);
    const q = m.workers.get('broken')!;
    expect(q.quarantinedUntil! - Date.now()).to.be.within(1_000, 10_000);
    expect(q.quarantineS).to.equal(20); // the next one will be twice as long
    expect(m.workers.isAvailable('broken', m.builderIds().get('picky')!)).to.equal(false);
  });

  it('a graceful stop lets a running build finish', async () => {
    const m = await start({ workers: [worker(0)], builders: [{ name: 'short', workernames: ['w1'], command: 'sleep 1' }] });
    const started = m.bus.waitFor(['steps', '*', 'started'], (msg: { name?: string }) => msg.name === 'run', 30_000);
    const { brids } = await m.force('force', {});
    await started;
    await m.stop();
    master = undefined;
    const db = await openDb();
    const brid = Object.values(brids)[0];
    expect((await getBuildsForRequest(db, brid)).map((b) => b.results)).to.deep.equal([SUCCESS]);
    expect(await getRequest(db, brid)).to.include({ complete: 1, results: SUCCESS });
  });

  it('stops builds that outlast the bound RETRY and releases their requests; a second stop hurries', async () => {
    const m = await start({ workers: [worker(0)], builders: [{ name: 'long', workernames: ['w1'], command: 'sleep 60' }] });
    const started = m.bus.waitFor(['steps', '*', 'started'], (msg: { name?: string }) => msg.name === 'run', 30_000);
    const { brids } = await m.force('force', {});
    await started;
    const t0 = Date.now();
    const stopping = m.stop(); // graceful, 30 s
    await new Promise((r) => setTimeout(r, 300));
    await m.stop({ graceful: false }); // the second signal
    await stopping;
    expect(Date.now() - t0).to.be.below(15_000);
    master = undefined;
    const db = await openDb();
    const brid = Object.values(brids)[0];
    const builds = await getBuildsForRequest(db, brid);
    expect(builds.map((b) => b.results)).to.deep.equal([RETRY]);
    expect(await getRequest(db, brid)).to.include({ complete: 0, claimed_by_masterid: null });
    expect(await getMaster(db, m.masterid)).to.include({ active: 0 });
  });

  it('after a crash (SIGKILL of start --nodaemon) the restarted master ends the leftover build RETRY and reruns its request', async () => {
    const port = await freePort();
    // The first run hangs (until the master is killed), the rerun passes at once.
    const marker = join(sshd.users[0].home, 'crash-marker');
    await rm(marker, { force: true });
    const command = 'if [ ! -e "$HOME/crash-marker" ]; then touch "$HOME/crash-marker"; sleep 60; fi; echo done';
    dir = await makeMasterDir({ workers: [worker(0)], builders: [{ name: 'crashy', workernames: ['w1'], command }], wwwPort: port });
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'start', '--nodaemon', dir], { stdio: 'ignore' });
    try {
      const pidFile = join(dir, 'buildmaster.pid');
      await until(async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() === String(child.pid), 'the child to write its pid file', 60_000);
      const res = await fetch(`http://127.0.0.1:${port}/api/v2/forceschedulers/force`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'force', id: 1, params: {} }),
      });
      const { result } = (await res.json()) as { result: [number, Record<string, number>] };
      const brid = Object.values(result[1])[0];
      const db = await openDb();
      const masterid = await findOrCreateMaster(db, masterName(dir));
      const build = await until(async () => {
        const [b] = await getUnfinishedBuilds(db, masterid);
        const steps = b ? await getSteps(db, b.id) : [];
        return steps.some((st) => st.name === 'run' && st.started_at !== null) ? b : undefined;
      }, 'the build to be running its step', 60_000);
      await until(() => existsSync(marker), 'the step to be running on the slave');
      child.kill('SIGKILL');
      await once(child, 'exit');

      master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 } });
      expect(master.masterid).to.equal(masterid);
      await master.bus.waitFor(['buildsets', String(result[0]), 'complete'], () => true, 90_000);
      const builds = await getBuildsForRequest(master.db, brid);
      expect(builds.map((b) => [b.id, b.results, b.state_string])).to.deep.equal([
        [build.id, RETRY, 'interrupted: master restarted'],
        [builds[1].id, SUCCESS, 'build successful'],
      ]);
      const leftover = await getSteps(master.db, build.id);
      expect(leftover.find((st) => st.name === 'run')).to.include({ results: RETRY });
      expect(await getRequest(master.db, brid)).to.include({ complete: 1, results: SUCCESS });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('HTTP JSON-RPC force from this machine needs no credentials when no users are configured', async () => {
    const port = await freePort();
    dir = await makeMasterDir({ workers: [worker(0)], builders: [{ name: 'web', workernames: ['w1'], command: 'true' }], wwwPort: port });
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    master = await Master.start({ basedir: dir, www: true, sshBackoff: { baseMs: 100, maxMs: 500 } });
    const m = master;
    const res = await fetch(`http://127.0.0.1:${port}/api/v2/forceschedulers/force`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'force', id: 7, params: { builderNames: ['web'], reason: 'from http', username: 'Web <web@example.org>' } }),
    });
    const text = await res.text();
    expect(res.status).to.equal(200);
    const builderid = m.builderIds().get('web')!;
    const body = JSON.parse(text) as { result: [number, Record<string, number>] };
    expect(text).to.equal(`{"id":7,"jsonrpc":"2.0","result":[${body.result[0]},{"${builderid}":${body.result[1][builderid]}}]}`);
    await m.bus.waitFor(['buildsets', String(body.result[0]), 'complete'], () => true, 60_000);
    const [req] = await getRequestsOfBuildset(m.db, body.result[0]);
    expect(req).to.include({ complete: 1, results: SUCCESS });
    const root = (await (await fetch(`http://127.0.0.1:${port}/api/v2`, { headers: { accept: 'application/json' } })).json()) as { rootlinks: { name: string }[] };
    expect(root.rootlinks.map((l) => l.name)).to.include.members(['builders', 'builds', 'forceschedulers', 'workers']);

    // With www.users (given here beside the loaded config until its schema has the option), the same
    // master wants credentials and records the user as the owner.
    const users = [{ username: 'alice', password: 'wonderland' }];
    const guarded = await WwwServer.start(
      { config: { ...m.config, www: { ...m.config.www, users } } as typeof m.config, force: (n, a) => m.force(n, a), builderIds: () => m.builderIds() },
      m.logger,
      { port: 0 },
    );
    try {
      const call = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${guarded.port}/api/v2/forceschedulers/force`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ jsonrpc: '2.0', method: 'force', id: 8, params: { reason: 'guarded' } }),
        });
      expect((await call({})).status).to.equal(401);
      const ok = await call({ authorization: `Basic ${Buffer.from('alice:wonderland').toString('base64')}` });
      expect(ok.status).to.equal(200);
      const [bsid] = ((await ok.json()) as { result: [number] }).result;
      await m.bus.waitFor(['buildsets', String(bsid), 'complete'], () => true, 60_000);
      expect(await getBuildsetProperties(m.db, bsid)).to.deep.include({ owner: ['alice', 'Force Build Form'], reason: ['guarded', 'Force Build Form'] });
      expect((await getBuildset(m.db, bsid))?.reason).to.equal("A build was forced by 'alice': guarded");
    } finally {
      await guarded.stop();
    }
  });
});
