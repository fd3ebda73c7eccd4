import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { claimRequests, getRequest, getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import { addBuildset, getBuildset } from '../../lib/db/buildsets.js';
import { findOrCreateMaster, getMaster } from '../../lib/db/masters.js';
import { Master } from '../../lib/master/master.js';
import { masterName } from '../../lib/master/identity.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { makeMasterDir, removeDir, trust, until, type ConfigSpec, type TestWorker } from './masterDir.js';

/**
 * The Master against a real OpenSSH sshd: builds run as two throwaway users (two workers) on this
 * machine. Each step appends its start and end time (ns) to a trace file in the worker's home, so
 * the slaves themselves tell how many builds ran at once.
 */
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
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 } });
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

    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 } });
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
    await until(() => m.workers.get('w1')!.connection.isConnected(), 'w1 to connect');
    const { bsid } = await m.force('force', {});
    await m.bus.waitFor(['buildsets', String(bsid), 'complete'], () => true, 60_000);
    await m.stop();
    master = undefined;
    const db = await openDb();
    expect(await getMaster(db, m.masterid)).to.include({ active: 0 });
  });

  it('never gives a build to a worker whose host key is unknown, and uses it once trusted', async () => {
    const { EmbeddedSshHost, ensureKeyPair } = await import('../../lib/demo/embeddedSshHost.js');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
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
      const forced = [];
      for (let i = 0; i < 4; i++) forced.push(await m.force('force', {}));
      await Promise.all(forced.map((f) => m.bus.waitFor(['buildsets', String(f.bsid), 'complete'], () => true, 60_000)));
      for (const f of forced) {
        const [b] = await getBuildsForRequest(m.db, Object.values(f.brids)[0]);
        expect(b.workerid).to.equal(m.workers.get('w1')!.workerid);
      }
      expect(s.connection.isConnected()).to.equal(false);

      // trust-worker writes known_hosts; the next reconnect attempt uses it, no restart.
      const { trustWorker } = await import('../../lib/cli/trustWorker.js');
      const { Output } = await import('../../lib/cli/output.js');
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
    expect(await getRequest(m.db, brid)).to.include({ complete: 1, results: SUCCESS });
  });

  it('HTTP JSON-RPC force from this machine needs no credentials when no users are configured', async () => {
    const { freePort } = await import('./masterDir.js');
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
    const root = await (await fetch(`http://127.0.0.1:${port}/api/v2`, { headers: { accept: 'application/json' } })).json();
    expect(root).to.deep.equal({ rootlinks: [{ name: 'forceschedulers' }], meta: { total: 1 } });
  });
});
