import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import type { Database } from '../../lib/db/connection.js';
import { getMasters } from '../../lib/db/masters.js';
import { select } from '../../lib/db/query.js';
import { getSteps } from '../../lib/db/steps.js';
import { masterName } from '../../lib/master/identity.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { configSource, freePort, makeMasterDir, removeDir, trust, until, type TestWorker } from './masterDir.js';
import { submitRequests, killMasterProcess, runCliProcess, startMasterProcess, type MasterProcess } from './masterProcess.js';

/**
 * Graceful shutdown of a real `start --nodaemon` process with three builds running on a real sshd:
 * SIGTERM lets them finish (exit 0); with a 1 s bound they end RETRY (exit 4) and the restart runs
 * them; `stop --timeout` stops at once (exit 5). Every time: no claim left on an unfinished request,
 * no builder_masters row, the master inactive.
 */
forEachDialect('graceful shutdown (real master process)', (h) => {
  let sshd: Sshd;
  const procs: MasterProcess[] = [];
  const dirs: string[] = [];
  let db: Database;
  let dbOf: string | undefined;

  before(async function () {
    this.timeout(60_000);
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async function () {
    dbOf = undefined;
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(`--- master pid ${p.pid} ---\n${p.output.slice(-6000)}\n`);
    for (const p of procs.splice(0)) await killMasterProcess(p);
    for (const d of dirs.splice(0)) await removeDir(d);
  });

  /** Three builders, one worker that takes all three builds at once. */
  async function masterDir(command: string, extra = ''): Promise<{ dir: string; port: number }> {
    const port = await freePort();
    const u = sshd.users[0];
    const worker: TestWorker = { name: 'w1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, `wk-${randomBytes(3).toString('hex')}`), maxBuilds: 3 };
    const spec = { workers: [worker], builders: ['b1', 'b2', 'b3'].map((name) => ({ name, workernames: ['w1'], command })), wwwPort: port, extra };
    const dir = await makeMasterDir(spec);
    dirs.push(dir);
    const dbUrl = h.dialect === 'sqlite' ? 'sqlite:///state.sqlite' : h.url();
    await writeFile(join(dir, 'master.config.ts'), configSource(spec).replace(`url: 'sqlite:///state.sqlite'`, `url: ${JSON.stringify(dbUrl)}`));
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    return { dir, port };
  }

  async function openDb(dir: string): Promise<Database> {
    return h.dialect === 'sqlite' ? h.connect(`sqlite:///${join(dir, 'state.sqlite')}`) : h.open();
  }

  async function start(dir: string): Promise<MasterProcess> {
    if (dbOf !== dir) {
      db = await openDb(dir); // on MariaDB this creates the schema the master expects
      dbOf = dir;
    }
    const p = await startMasterProcess(dir);
    procs.push(p);
    return p;
  }

  /** Waits until every request of the buildset has a build whose step `run` is running. */
  async function allRunning(bsid: number, n: number): Promise<void> {
    await until(async () => {
      let running = 0;
      for (const r of await getRequestsOfBuildset(db, bsid)) {
        for (const b of await getBuildsForRequest(db, r.id)) {
          if (b.complete_at === null && (await getSteps(db, b.id)).some((s) => s.name === 'run' && s.started_at !== null)) running++;
        }
      }
      return running === n;
    }, `${n} builds to be running`, 90_000);
  }

  /** Claims on requests not yet complete, builder_masters rows and the active flag of the master in `dir`. */
  async function leftovers(dir: string): Promise<{ claims: number; builderMasters: number; active: number | undefined }> {
    const master = (await getMasters(db)).find((m) => m.name === masterName(dir));
    const [c] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM buildrequest_claims c JOIN buildrequests br ON br.id = c.brid WHERE br.complete = 0');
    const [bm] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM builder_masters WHERE masterid = ?', [master?.id ?? -1]);
    return { claims: Number(c!.n), builderMasters: Number(bm!.n), active: master?.active };
  }

  it('SIGTERM with 3 builds running: they finish, exit 0, no claims left, master inactive', async function () {
    this.timeout(240_000);
    const { dir, port } = await masterDir('sleep 4; echo finished');
    const p = await start(dir);
    const { bsid, brids } = await submitRequests(db);
    expect(brids).to.have.length(3);
    await allRunning(bsid, 3);
    p.child.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code, p.output.slice(-3000)).to.equal(0);
    for (const brid of brids) expect((await getBuildsForRequest(db, brid)).map((b) => b.results)).to.deep.equal([SUCCESS]);
    expect((await getRequestsOfBuildset(db, bsid)).map((r) => r.complete)).to.deep.equal([1, 1, 1]);
    expect(await leftovers(dir)).to.deep.equal({ claims: 0, builderMasters: 0, active: 0 });
    expect(p.output).to.match(/"event":"master.stopped".*"outcome":"clean"/);
    expect(existsSync(join(dir, 'buildmaster.pid'))).to.equal(false);
  });

  it('with a 1 s bound: `stop` exits 4, the builds end RETRY, and the restarted master runs them', async function () {
    this.timeout(300_000);
    // The first run of each build hangs; the rerun finishes at once.
    const tag = randomBytes(3).toString('hex');
    const command = `m="$HOME/bound-${tag}-$(echo "$PWD" | tr / _)"; if [ ! -e "$m" ]; then touch "$m"; sleep 60; fi; echo rerun`;
    const { dir, port } = await masterDir(command, 'shutdown: { buildBound: 1 },');
    const p = await start(dir);
    const { bsid, brids } = await submitRequests(db);
    await allRunning(bsid, 3);
    const t0 = Date.now();
    const stop = await runCliProcess(['stop', dir]);
    expect(stop.code, stop.stdout + stop.stderr).to.equal(4);
    expect(stop.stdout).to.match(/3 build\(s\) outlasted the shutdown bound \(1 s\) and ended RETRY/);
    expect(Date.now() - t0).to.be.below(40_000);
    expect((await p.exited).code).to.equal(4);
    for (const brid of brids) expect((await getBuildsForRequest(db, brid)).map((b) => b.results)).to.deep.equal([RETRY]);
    expect((await getRequestsOfBuildset(db, bsid)).map((r) => [r.complete, r.claimed_by_masterid])).to.deep.equal([[0, null], [0, null], [0, null]]);
    expect(await leftovers(dir)).to.deep.equal({ claims: 0, builderMasters: 0, active: 0 });

    await start(dir);
    await until(async () => (await getRequestsOfBuildset(db, bsid)).every((r) => r.complete === 1), 'the restarted master to rerun every request', 120_000);
    for (const brid of brids) expect((await getBuildsForRequest(db, brid)).map((b) => b.results)).to.deep.equal([RETRY, SUCCESS]);
  });

  it('`stop --timeout 1` stops at once (exit 5); a second `stop` finds it not running (exit 0, as Buildbot)', async function () {
    this.timeout(240_000);
    const { dir, port } = await masterDir('sleep 60');
    const p = await start(dir);
    const { bsid } = await submitRequests(db);
    await allRunning(bsid, 3);
    const stop = await runCliProcess(['stop', '--timeout', '1', dir]);
    expect(stop.code, stop.stdout + stop.stderr).to.equal(5);
    expect(stop.stdout).to.match(/stopped at once; 3 build\(s\) ended RETRY/);
    expect((await p.exited).code).to.equal(5);
    expect(await leftovers(dir)).to.deep.equal({ claims: 0, builderMasters: 0, active: 0 });
    const status = JSON.parse(await readFile(join(dir, 'buildmaster.status.json'), 'utf8')) as { state: string; stop: { outcome: string; retried: number[] } };
    expect(status.state).to.equal('stopped');
    expect(status.stop.outcome).to.equal('forced');
    expect(status.stop.retried).to.have.length(3);
    const again = await runCliProcess(['stop', dir]);
    expect(again.code).to.equal(0);
    expect(again.stdout).to.contain('buildmaster not running');
  });
});
