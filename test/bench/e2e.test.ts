/**
 * A tiny run of the e2e benchmark (N=8, no Buildbot comparison), to keep bench/ working. Slow and
 * root-only, so it runs only with BUILDMASTER_BENCH_SMOKE=1.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runE2e } from '../../bench/scenarios/e2e/measure.js';
import { sshdUnavailable } from '../../bench/support/sshd.js';
import { ensureBuilt } from '../support/cli.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

describe('bench e2e (smoke, N=8)', function () {
  this.timeout(180_000);

  before(function () {
    if (process.env.BUILDMASTER_BENCH_SMOKE !== '1') this.skip();
    const reason = sshdUnavailable();
    if (reason) {
      if (process.env.CI === 'true') throw new Error(`bench smoke: ${reason}`);
      this.skip();
    }
    ensureBuilt();
  });

  it('runs 8 builds through a separate master process and measures them', async () => {
    const lines: string[] = [];
    const r = await runE2e({ repoRoot, n: 8, idleBuilds: 2, profile: false, keep: false, timeoutSeconds: 120, log: (l) => lines.push(l) });
    expect(r.figures.buildsCreated, lines.join('\n')).to.equal(8);
    expect(r.figures.buildsNotSuccess).to.equal(0);
    expect(r.figures.buildsPerSecond).to.be.greaterThan(0);
    expect(r.figures.masterCpuMsPerBuild).to.be.greaterThan(0);
    expect(r.figures.masterPeakRssKiB).to.be.greaterThan(10_000);
    // Eight builds may fit in pages the DB already had free, so bytes per build can be 0 here.
    expect(r.figures.dbBytesPerBuild).to.be.at.least(0);
    expect((r.details.db_rows_after as Record<string, number>).builds).to.be.at.least(8);
    expect(r.details.builds_per_worker).to.be.an('array');
  });
});
