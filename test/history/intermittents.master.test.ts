import { expect } from 'chai';
import { join } from 'node:path';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import { occurrencesOfBuild } from '../../lib/history/failures.js';
import { getIntermittentTests } from '../../lib/history/intermittents.js';
import { getTestHistory } from '../../lib/history/testResults/index.js';
import { Master } from '../../lib/master/master.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { makeMasterDir, removeDir, rewriteConfig, trust, until, type ConfigSpec, type TestWorker } from '../master/masterDir.js';
import { startSshd, type Sshd } from '../support/sshd.js';

/**
 * A real master and a real OpenSSH slave: a test that fails on the first build and passes on a
 * rebuild of the same revision (a marker file on the slave remembers the first run) is marked
 * intermittent by the master's HistoryAnalyzer, with its rate.
 */
describe('intermittent tests on a real master (real sshd)', function () {
  this.timeout(120_000);
  let sshd: Sshd;
  let dir: string | undefined;
  let master: Master | undefined;

  before(async function () {
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    master = undefined;
    await removeDir(dir);
    dir = undefined;
  });

  it('marks a TAP test that fails, then passes on a rebuild of the same revision', async () => {
    const u = sshd.users[0];
    const worker: TestWorker = { name: 'w1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, 'wk') };
    const marker = join(u.home, 'flaky-ran-once');
    const command = [
      'echo "TAP version 13"; echo "1..2"; echo "ok 1 - steady"',
      `if [ -f ${marker} ]; then echo "ok 2 - flaky"; else touch ${marker}; echo "not ok 2 - flaky"; exit 1; fi`,
    ].join('; ');
    dir = await makeMasterDir({ workers: [worker], builders: [{ name: 'unit', workernames: ['w1'], command }] });
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 } });
    const m = master;

    const results: number[] = [];
    for (const reason of ['first', 'rebuild']) {
      const done = m.bus.waitFor<{ results: number }>(['builds', '*', 'finished'], () => true, 60_000);
      const forced = await m.force('force', { reason, owner: 'tester <t@example.org>', sourcestamps: [{ codebase: '', branch: 'main', revision: 'deadbeef' }] });
      results.push((await done).message.results);
      const [brid] = Object.values(forced.brids);
      expect(await getBuildsForRequest(m.db, brid)).to.have.length(1);
    }
    expect(results).to.deep.equal([FAILURE, SUCCESS]);

    // The analyzer runs after the build, in the background.
    const [mark] = await until(async () => {
      const list = await getIntermittentTests(m.db);
      return list.length > 0 ? list : undefined;
    }, 'the flaky test to be marked intermittent');
    expect(mark).to.include({ test_name: 'flaky', reason: 'same_revision', revision: 'deadbeef', runs: 2, failures: 1, fail_rate: 0.5 });
    const history = await getTestHistory(m.db, { name: 'flaky' });
    expect(history.map((r) => [r.passed, r.revision, r.branch])).to.deep.equal([
      [true, 'deadbeef', 'main'],
      [false, 'deadbeef', 'main'],
    ]);
    expect((await getIntermittentTests(m.db, { name: 'steady' })).length).to.equal(0);
  });

  it('takes history.maxErrorLines and history.intermittent from the config, and again on reconfig', async () => {
    const u = sshd.users[0];
    const worker: TestWorker = { name: 'w1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, 'wk2') };
    const marker = join(u.home, 'flaky2-ran-once');
    const command = [
      'echo "TAP version 13"; echo "1..2"; echo "ok 1 - steady"',
      `if [ -f ${marker} ]; then echo "ok 2 - flaky"; else touch ${marker}; echo "not ok 2 - flaky"; echo "error: one"; echo "error: two"; echo "error: three"; exit 1; fi`,
    ].join('; ');
    // A window of one run cannot see a test both fail and pass.
    const spec = (window: number): ConfigSpec => ({
      workers: [worker],
      builders: [{ name: 'unit', workernames: ['w1'], command }],
      extra: `history: { maxErrorLines: 2, intermittent: { window: ${window} } },`,
    });
    dir = await makeMasterDir(spec(1));
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 } });
    const m = master;
    const build = async (reason: string) => {
      const done = m.bus.waitFor<{ buildid: number; results: number }>(['builds', '*', 'finished'], () => true, 60_000);
      await m.force('force', { reason, owner: 'tester <t@example.org>', sourcestamps: [{ codebase: '', branch: 'main', revision: 'cafe' }] });
      const finished = (await done).message;
      await m.history!.idle();
      return finished;
    };

    const first = await build('first');
    expect(first.results).to.equal(FAILURE);
    const occurrences = await until(async () => {
      const list = await occurrencesOfBuild(m.db, first.buildid);
      return list.length > 0 ? list : undefined;
    }, 'the error lines to be recorded');
    expect(occurrences.map((o) => o.text), 'maxErrorLines: 2').to.deep.equal(['error: one', 'error: two']);
    expect((await build('rebuild')).results).to.equal(SUCCESS);
    expect(await getTestHistory(m.db, { name: 'flaky' })).to.have.length(2);
    expect(await getIntermittentTests(m.db), 'window 1: not marked').to.deep.equal([]);

    await rewriteConfig(dir, spec(20));
    expect((await m.reconfig()).ok).to.equal(true);
    expect((await build('after reconfig')).results).to.equal(SUCCESS);
    const [mark] = await until(async () => {
      const list = await getIntermittentTests(m.db);
      return list.length > 0 ? list : undefined;
    }, 'the flaky test to be marked once the window is 20');
    expect(mark).to.include({ test_name: 'flaky', reason: 'same_revision', runs: 3, failures: 1 });
  });
});
