import { expect } from 'chai';
import { ShellCommand } from '../../lib/config/steps.js';
import { SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { makeHarness, type Harness } from '../workers/harness.js';
import { makeWorld } from './buildHarness.js';
import { getSteps } from '../../lib/db/steps.js';
import { getLogs, getLogChunks } from '../../lib/db/logs.js';
import { readLines } from '../../lib/logs/chunkCodec.js';

describe('process/build: a step printing 100 MB (real sshd, sqlite)', function () {
  this.timeout(300_000);
  let sshd: Sshd;
  let ssh: Harness;
  before(async function () {
    sshd = await startSshd(this, { users: 1 });
    ssh = await makeHarness();
    await ssh.trust(sshd);
  });
  after(async () => {
    await ssh?.cleanup();
    await sshd?.stop();
  });

  forEachDialect('volume', (h) => {
    before(function () {
      if (h.dialect !== 'sqlite') this.skip();
    });
    it('stores every line with bounded memory', async function () {
      const w = await makeWorld(h, sshd, ssh);
      const line = 'cc -c -O2 -Wall -o obj/some/module.o src/some/module.c   # an ordinary compiler line';
      const n = Math.ceil((100 * 1024 * 1024) / (line.length + 1));
      const config = w.config([new ShellCommand({ command: `yes '${line}' | head -n ${n}`, logEnviron: false })]);
      let peakRss = 0;
      let peakHeap = 0;
      const heap0 = process.memoryUsage().heapUsed;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
      }, 50);
      const rss0 = process.memoryUsage().rss;
      const t0 = Date.now();
      const { build, results } = await w.build(config);
      clearInterval(sampler);
      const secs = (Date.now() - t0) / 1000;
      console.log(`      100 MB step: ${secs.toFixed(1)} s, ${(100 / secs).toFixed(0)} MB/s, peak RSS +${((peakRss - rss0) / 1048576).toFixed(0)} MB, peak heap+buffers +${((peakHeap - heap0) / 1048576).toFixed(0)} MB`);
      expect(results).to.equal(SUCCESS);
      const step = (await getSteps(w.db, build.buildid))[1];
      const log = (await getLogs(w.db, step.id))[0];
      expect(log.num_lines).to.equal(n + 7); // 5 headers before, 2 after
      const mid = readLines(await getLogChunks(w.db, log.id, 1000, 1001), 1000, 1001);
      expect(mid.lines).to.deep.equal(['o' + line, 'o' + line]);
      expect(peakRss - rss0).to.be.lessThan(400 * 1024 * 1024);
    });
  });
});
