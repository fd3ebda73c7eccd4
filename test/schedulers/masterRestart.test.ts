import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addChange } from '../../lib/db/changes.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { select } from '../../lib/db/query.js';
import { Master } from '../../lib/master/master.js';
import { freePort, makeMasterDir, removeDir, until } from '../master/masterDir.js';

/**
 * A real Master restarted between a commit and its tree-stable timer: the change is stored by
 * "another master" (so it arrives by polling), the master stops while the timer runs and starts
 * again, and exactly one buildset appears, at the deadline set before the restart.
 */
describe('schedulers across a real Master restart', function () {
  this.timeout(120_000);
  let dir: string | undefined;
  let master: Master | undefined;
  let db: Database | undefined;

  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    master = undefined;
    await db?.close();
    db = undefined;
    await removeDir(dir);
    dir = undefined;
  });

  it('a treeStableTimer pending at stop fires once, at its deadline, after the start', async () => {
    const deadPort = await freePort();
    dir = await makeMasterDir({ workers: [], builders: [] });
    await writeFile(
      join(dir, 'master.config.ts'),
      `import { defineConfig, steps, schedulers } from 'buildmaster';
export default defineConfig({
  db: { url: 'sqlite:///state.sqlite' },
  www: { host: '127.0.0.1', port: 0 },
  multiMaster: { heartbeatInterval: 1 },
  workers: [{ name: 'nowhere', host: '127.0.0.1', port: ${deadPort}, user: 'nobody', basedir: '/nonexistent' }],
  builders: [{ name: 'b1', workernames: ['nowhere'], steps: [new steps.ShellCommand({ command: 'true' })] }],
  schedulers: [new schedulers.SingleBranchScheduler({ name: 'stable', branch: 'main', treeStableTimer: 6, builderNames: ['b1'] })],
});
`,
    );
    master = await Master.start({ basedir: dir });
    db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
    const count = async () => Number((await select<{ n: number }>(db!, 'SELECT COUNT(*) AS n FROM buildsets'))[0]!.n);
    await addChange(db, { author: 'dev', branch: 'main', revision: 'r1', files: ['a.c'] });
    const deadlineMs = await until(async () => {
      const [row] = await select<{ value_json: string }>(db!, "SELECT value_json FROM object_state WHERE name = 'stableTimers'");
      return row ? (JSON.parse(row.value_json) as Record<string, number>).only : undefined;
    }, 'the change to be classified and its timer stored');
    await master.stop();
    master = undefined;
    expect(await count()).to.equal(0);

    master = await Master.start({ basedir: dir });
    expect(Date.now()).to.be.lessThan(deadlineMs); // still pending after the restart
    await until(async () => (await count()) === 1, 'the buildset', 30_000);
    expect(Date.now()).to.be.at.least(deadlineMs - 50);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await count()).to.equal(1);
    const [bs] = await select<{ submitted_at: number }>(db, 'SELECT submitted_at FROM buildsets');
    expect(bs!.submitted_at).to.be.at.least(Math.floor(deadlineMs / 1000));
  });
});
