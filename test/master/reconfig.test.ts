import { expect } from 'chai';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config/loader.js';
import type { ResolvedConfig } from '../../lib/config/resolved.js';
import { getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { getMasters } from '../../lib/db/masters.js';
import { select } from '../../lib/db/query.js';
import { getSteps } from '../../lib/db/steps.js';
import { masterName } from '../../lib/master/identity.js';
import { describePlan, planReconfig } from '../../lib/master/reconfig.js';
import { SUCCESS } from '../../lib/process/results.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { configSource, freePort, makeMasterDir, removeDir, rewriteConfig, trust, until, type ConfigSpec, type TestWorker } from './masterDir.js';
import { submitRequests, killMasterProcess, runCliProcess, startMasterProcess, stepLogText, type MasterProcess } from './masterProcess.js';
import { writeFile } from 'node:fs/promises';

/**
 * Reconfig of a real `start --nodaemon` process (builds on a real sshd): `buildmaster reconfig`
 * while a build runs. The build finishes with the config it started with; added builders and
 * workers are registered and build; a changed builder's next build uses its new steps; removed ones
 * lose their builder_masters rows once told; a worker whose connection settings changed reconnects
 * after its build.
 */
describe('reconfig (real master process)', function () {
  this.timeout(240_000);
  let sshd: Sshd;
  let dir: string | undefined;
  let db: Database | undefined;
  let proc: MasterProcess | undefined;

  before(async function () {
    this.timeout(60_000);
    sshd = await startSshd(this, { users: 2 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && proc) process.stderr.write(`--- master output ---\n${proc.output.slice(-8000)}\n`);
    if (proc) await killMasterProcess(proc);
    proc = undefined;
    await db?.close();
    db = undefined;
    await removeDir(dir);
    dir = undefined;
  });

  function worker(i: number, more: Record<string, unknown> = {}): TestWorker {
    const u = sshd.users[i]!;
    return { name: `w${i + 1}`, port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, 'wk'), ...more } as TestWorker;
  }

  async function start(spec: ConfigSpec): Promise<number> {
    const port = await freePort();
    dir = await makeMasterDir({ ...spec, wwwPort: port });
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    proc = await startMasterProcess(dir);
    db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
    return port;
  }

  async function runningBuild(brid: number): Promise<{ id: number }> {
    return until(async () => {
      const [b] = await getBuildsForRequest(db!, brid);
      return b && (await getSteps(db!, b.id)).some((s) => s.name === 'run' && s.started_at !== null) ? b : undefined;
    }, 'the build to be running', 90_000);
  }

  async function complete(bsid: number): Promise<void> {
    await until(async () => (await getRequestsOfBuildset(db!, bsid)).every((r) => r.complete === 1), `buildset ${bsid} to complete`, 90_000);
  }

  async function runLog(buildid: number): Promise<string> {
    const run = (await getSteps(db!, buildid)).find((s) => s.name === 'run');
    return run ? stepLogText(db!, run.id) : '';
  }

  async function builderMasters(): Promise<string[]> {
    const masterid = (await getMasters(db!)).find((m) => m.name === masterName(dir!))!.id;
    const rows = await select<{ name: string }>(db!, 'SELECT b.name FROM builder_masters bm JOIN builders b ON b.id = bm.builderid WHERE bm.masterid = ? ORDER BY b.name', [masterid]);
    return rows.map((r) => r.name);
  }

  it('during a build: the build finishes; the new builder and worker exist and build; the changed builder uses its new steps', async () => {
    const port = await start({ workers: [worker(0)], builders: [{ name: 'b1', workernames: ['w1'], command: 'echo v1; sleep 4' }] });
    const first = await submitRequests(db!);
    const build = await runningBuild(first.brids[0]!);

    await rewriteConfig(dir!, {
      workers: [worker(0), worker(1)],
      builders: [
        { name: 'b1', workernames: ['w1'], command: 'echo v2' },
        { name: 'b2', workernames: ['w2'], command: 'echo b2' },
      ],
      wwwPort: port,
    });
    const r = await runCliProcess(['reconfig', dir!]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.contain('builders added: b2').and.contain('builders changed: b1').and.contain('workers added: w2').and.contain('schedulers reconfigured');
    expect(await builderMasters()).to.deep.equal(['b1', 'b2']);

    await complete(first.bsid);
    expect((await getBuildsForRequest(db!, first.brids[0]!)).map((b) => [b.id, b.results])).to.deep.equal([[build.id, SUCCESS]]);
    expect(await runLog(build.id), 'the running build kept its config').to.contain('v1');

    const second = await submitRequests(db!);
    expect(second.brids).to.have.length(2);
    await complete(second.bsid);
    const [b1] = await getBuildsForRequest(db!, second.brids[0]!);
    const [b2] = await getBuildsForRequest(db!, second.brids[1]!);
    expect([b1!.results, b2!.results]).to.deep.equal([SUCCESS, SUCCESS]);
    expect(await runLog(b1!.id)).to.contain('v2');
    expect(await runLog(b2!.id)).to.contain('b2');
    expect(proc!.output).to.match(/"event":"master.reconfigured"/);
  });

  it('removed builders stop being this master\'s while their build finishes; a worker whose connection changed reconnects after it', async () => {
    const port = await start({
      workers: [worker(0), worker(1)],
      builders: [
        { name: 'b1', workernames: ['w1'], command: 'sleep 4; echo done' },
        { name: 'b2', workernames: ['w2'], command: 'echo b2' },
      ],
    });
    const first = await submitRequests(db!);
    const build = await runningBuild(first.brids[0]!);

    await rewriteConfig(dir!, { workers: [worker(0, { connectTimeout: 25 })], builders: [{ name: 'b3', workernames: ['w1'], command: 'echo b3' }], wwwPort: port });
    const r = await runCliProcess(['reconfig', dir!]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.contain('builders added: b3').and.contain('builders removed: b1, b2').and.contain('workers reconnecting: w1').and.contain('workers removed: w2');
    expect(await builderMasters()).to.deep.equal(['b3']);

    await complete(first.bsid);
    expect((await getBuildsForRequest(db!, first.brids[0]!)).map((b) => [b.id, b.results])).to.deep.equal([[build.id, SUCCESS]]);
    await until(() => /"event":"worker.retiring".*"worker":"w1"/.test(proc!.output), 'w1 to retire');

    const second = await submitRequests(db!);
    await complete(second.bsid);
    const [b3] = await getBuildsForRequest(db!, second.brids[0]!);
    expect(b3!.results).to.equal(SUCCESS);
    const connected = await select<{ name: string }>(db!, 'SELECT w.name FROM connected_workers cw JOIN workers w ON w.id = cw.workerid ORDER BY w.name');
    expect(connected.map((c) => c.name), 'w2 disconnected, w1 connected again').to.deep.equal(['w1']);
  });
});

describe('planReconfig', () => {
  let dir: string | undefined;
  afterEach(async () => {
    await removeDir(dir);
    dir = undefined;
  });

  async function load(spec: ConfigSpec, extra = ''): Promise<ResolvedConfig> {
    dir ??= await makeMasterDir({ workers: [], builders: [] });
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.config.ts`);
    await writeFile(file, configSource({ ...spec, extra }));
    return (await loadConfig(file)).config;
  }

  const w = (name: string, more: Record<string, unknown> = {}) => ({ name, port: 22, user: 'u', basedir: '/b', ...more }) as TestWorker;

  it('classifies builders, workers and settings; refuses a new database; reports what needs a restart', async () => {
    const old = await load({ workers: [w('a'), w('b'), w('c')], builders: [{ name: 'x', workernames: ['a'], command: 'true' }, { name: 'y', workernames: ['b'], command: 'true' }] });
    const next = await load(
      { workers: [w('a', { maxBuilds: 3 }), w('b', { port: 2222 }), w('d')], builders: [{ name: 'x', workernames: ['a'], command: 'false' }, { name: 'z', workernames: ['d'], command: 'true' }], wwwPort: 9999 },
      `logLevel: 'debug',`,
    );
    const plan = planReconfig(old, next);
    expect(plan.builders.added.map((b) => b.name)).to.deep.equal(['z']);
    expect(plan.builders.changed.map((b) => b.name)).to.deep.equal(['x']);
    expect(plan.builders.removed).to.deep.equal(['y']);
    expect(plan.workers.added.map((x) => x.name)).to.deep.equal(['d']);
    expect(plan.workers.updated.map((x) => x.name)).to.deep.equal(['a']);
    expect(plan.workers.reconnect.map((x) => x.name)).to.deep.equal(['b']);
    expect(plan.workers.removed).to.deep.equal(['c']);
    expect(plan.schedulersChanged).to.equal(true);
    expect(plan.settings).to.deep.equal(['logLevel']);
    expect(plan.restartNeeded).to.include('www');
    expect(plan.refused).to.deep.equal([]);
    expect(describePlan(plan)).to.include('workers reconnecting: b');

    const moved = { ...next, db: { url: 'sqlite:///elsewhere.sqlite' } };
    expect(planReconfig(next, moved).refused[0]).to.match(/^db\.url: the database cannot change/);
    expect(describePlan(planReconfig(next, next))).to.deep.equal([]);
  });
});
