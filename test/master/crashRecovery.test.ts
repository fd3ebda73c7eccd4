import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { getLogs } from '../../lib/db/logs.js';
import { getMasters } from '../../lib/db/masters.js';
import { getSteps } from '../../lib/db/steps.js';
import { masterName } from '../../lib/master/identity.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { freePort, makeMasterDir, removeDir, trust, until, type TestWorker } from './masterDir.js';
import { submitRequests, runCliProcess, stepLogText } from './masterProcess.js';

/**
 * Crash recovery of a real daemon (`buildmaster start DIR`) with three builds running on a real sshd:
 * kill -9, then `start` again. The new incarnation ends the old builds RETRY at once (their step log
 * lines written before the crash kept), releases their claims and runs every interrupted request
 * again; master.log keeps what the crashed process wrote.
 */
describe('crash recovery: kill -9, then start (real daemon)', function () {
  this.timeout(300_000);
  let sshd: Sshd;
  let dir: string | undefined;
  let db: Database | undefined;
  const pids = new Set<number>();

  before(async function () {
    this.timeout(60_000);
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && dir) process.stderr.write(`--- master.log ---\n${(await readFile(join(dir, 'master.log'), 'utf8').catch(() => '')).slice(-6000)}\n`);
    await db?.close();
    db = undefined;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL'); // only the daemons this test started
      } catch {
        // gone
      }
    }
    pids.clear();
    await removeDir(dir);
    dir = undefined;
  });

  async function daemonPid(): Promise<number> {
    const pid = Number((await readFile(join(dir!, 'buildmaster.pid'), 'utf8')).trim());
    pids.add(pid);
    return pid;
  }

  const stdioText = (stepid: number) => stepLogText(db!, stepid);

  it('ends the crashed builds RETRY at once, keeps their log lines, and reruns every interrupted request', async () => {
    const port = await freePort();
    const u = sshd.users[0];
    const tag = randomBytes(3).toString('hex');
    const worker: TestWorker = { name: 'w1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, `wk-${tag}`), maxBuilds: 3 };
    // The first run of each build prints a line and hangs (until the crash); the rerun passes at once.
    const command = `m="$HOME/crash-${tag}-$(echo "$PWD" | tr / _)"; if [ ! -e "$m" ]; then touch "$m"; echo "before-crash-${tag}"; sleep 120; fi; echo rerun`;
    dir = await makeMasterDir({ workers: [worker], builders: ['b1', 'b2', 'b3'].map((name) => ({ name, workernames: ['w1'], command })), wwwPort: port });
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);

    const started = await runCliProcess(['start', dir]);
    expect(started.code, started.stderr).to.equal(0);
    const first = await daemonPid();
    db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
    const { bsid, brids } = await submitRequests(db!);
    expect(brids).to.have.length(3);

    // Every build has written its line to the DB before the crash.
    const crashed = await until(async () => {
      const out: { buildid: number; stepid: number }[] = [];
      for (const brid of brids) {
        const [b] = await getBuildsForRequest(db!, brid);
        const run = b && (await getSteps(db!, b.id)).find((s) => s.name === 'run');
        if (run && (await stdioText(run.id)).includes(`before-crash-${tag}`)) out.push({ buildid: b.id, stepid: run.id });
      }
      return out.length === 3 ? out : undefined;
    }, 'three builds to have logged their line', 90_000);
    const logBefore = await readFile(join(dir, 'master.log'), 'utf8');
    expect(logBefore).to.match(/"event":"build.started"/);

    process.kill(first, 'SIGKILL');
    await until(() => {
      try {
        process.kill(first, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the killed master to be gone');
    const masterid = (await getMasters(db)).find((m) => m.name === masterName(dir!))!.id;
    expect((await getRequestsOfBuildset(db, bsid)).map((r) => r.claimed_by_masterid), 'claims persist across a crash').to.deep.equal([masterid, masterid, masterid]);

    const restarted = await runCliProcess(['start', dir]);
    expect(restarted.code, restarted.stderr).to.equal(0);
    await daemonPid();
    await until(async () => (await getRequestsOfBuildset(db!, bsid)).every((r) => r.complete === 1), 'every interrupted request to run again', 120_000);

    for (const [i, brid] of brids.entries()) {
      const builds = await getBuildsForRequest(db, brid);
      expect(builds.map((b) => b.results)).to.deep.equal([RETRY, SUCCESS]);
      expect(builds[0]).to.include({ id: crashed[i]!.buildid, state_string: 'interrupted: master restarted' });
      expect(await stdioText(crashed[i]!.stepid), 'log lines written before the crash are kept').to.include(`before-crash-${tag}`);
      expect((await getLogs(db, crashed[i]!.stepid)).every((l) => l.complete === 1), 'the crashed build\'s logs are finished').to.equal(true);
    }
    expect((await getRequestsOfBuildset(db, bsid)).map((r) => r.results)).to.deep.equal([SUCCESS, SUCCESS, SUCCESS]);
    const log = await readFile(join(dir, 'master.log'), 'utf8');
    expect(log.startsWith(logBefore), 'master.log keeps what the crashed process wrote').to.equal(true);
    expect(log.slice(logBefore.length)).to.match(/"event":"master.housekeeping".*"builds":\[\d+,\d+,\d+\]/);

    const stop = await runCliProcess(['stop', dir]);
    expect(stop.code, stop.stdout + stop.stderr).to.equal(0);
  });
});
