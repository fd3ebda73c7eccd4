import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedBuilds } from '../../bench/scenarios/gc/seed.js';
import { cleanupdb } from '../../lib/cli/cleanupdb.js';
import { Output } from '../../lib/cli/output.js';
import { openDatabase } from '../../lib/db/connection.js';
import { autoVacuumMode } from '../../lib/db/janitorVacuum.js';
import { selectOne } from '../../lib/db/query.js';
import { makeMasterDir, removeDir } from '../master/masterDir.js';
import { runCli } from '../support/cli.js';

const DAY = 86_400;

/** buildmaster cleanupdb on a master directory (sqlite) made by create-master, seeded with old builds. */
describe('buildmaster cleanupdb', function () {
  this.timeout(120_000);
  let dir: string | undefined;

  afterEach(async () => {
    await removeDir(dir);
    dir = undefined;
  });

  async function masterWithBuilds(): Promise<string> {
    dir = await makeMasterDir({ workers: [], builders: [], extra: 'janitor: { buildHorizon: "1d", logHorizon: "1d" },' });
    const db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
    const now = Math.floor(Date.now() / 1000);
    await seedBuilds(db, { builds: 300, startAt: now - 10 * DAY, spacing: 60, steps: 3, chunks: 4, stampPerBuild: true });
    await seedBuilds(db, { builds: 5, startAt: now - 600 });
    await db.close();
    return dir;
  }

  async function builds(d: string): Promise<number> {
    const db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: d });
    try {
      return Number((await selectOne<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM builds'))!.n);
    } finally {
      await db.close();
    }
  }

  it('--dry-run counts and deletes nothing; a real run deletes, vacuums and reports rows and bytes freed', async () => {
    const d = await masterWithBuilds();
    const dry = await runCli('cleanupdb', d, '--dry-run');
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/would delete \d+ rows/);
    expect(dry.stdout).to.match(/^\s+builds\s+300$/m);
    expect(dry.stdout).to.contain('dry run: nothing was deleted');
    expect(await builds(d)).to.equal(305);

    const real = await runCli('cleanupdb', d);
    expect(real.code, real.stderr).to.equal(0);
    expect(real.stdout).to.match(/deleted \d+ rows/);
    expect(real.stdout).to.match(/^\s+builds\s+300$/m);
    expect(real.stdout).to.match(/^\s+logchunks\s+3600$/m);
    expect(real.stdout).to.match(/database size .* -> .*: [\d.]+ (KiB|MiB) freed/);
    // Plain lines (not a terminal): one per phase at least.
    expect(real.stdout).to.match(/^builds: \d+\/300, \d+ rows$/m);
    expect(await builds(d)).to.equal(5);
    const db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: d });
    try {
      expect(await autoVacuumMode(db)).to.equal('incremental');
    } finally {
      await db.close();
    }
  });

  it('reports the bytes it freed and draws a bar on a terminal', async () => {
    const d = await masterWithBuilds();
    let stdout = '';
    const summary = await cleanupdb(d, { progress: 'bar' }, new Output((t) => void (stdout += t), () => {}));
    expect(summary.result.rows.builds).to.equal(300);
    expect(summary.bytesFreed).to.be.greaterThan(100_000);
    expect(summary.sizeAfter).to.equal(summary.sizeBefore - summary.bytesFreed);
    expect(stdout).to.match(/\r\[#+\.*\] 100% builds: 300\/300/);
  });

  it('refuses while the master of that directory is running', async () => {
    const d = await masterWithBuilds();
    await writeFile(join(d, 'buildmaster.pid'), `${process.pid}\n`);
    const r = await runCli('cleanupdb', d);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`is running (pid ${process.pid})`);
    expect(await builds(d)).to.equal(305);
    expect(await readFile(join(d, 'buildmaster.pid'), 'utf8')).to.contain(String(process.pid));
  });
});
