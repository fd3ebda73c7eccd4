import { expect } from 'chai';
import { join } from 'node:path';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import { getIntermittentTests } from '../../lib/history/intermittents.js';
import { getTestHistory } from '../../lib/history/testResults/index.js';
import { Master } from '../../lib/master/master.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { makeMasterDir, removeDir, trust, until, type TestWorker } from '../master/masterDir.js';
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
});
