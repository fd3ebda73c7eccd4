import { expect } from 'chai';
import { MasterLock, WorkerLock } from '../../lib/config/locks.js';
import { ShellCommand } from '../../lib/config/steps.js';
import { getLockHolders } from '../../lib/db/locks.js';
import { CANCELLED, SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { makeWorld, readBuild, useSshdPerSuite, waitUntil, type BuildWorld } from './buildHarness.js';

/** A step printing nanosecond timestamps when its command starts and ends. */
const timed = (name: string, extra: Record<string, unknown> = {}) =>
  new ShellCommand({ name, command: 'echo start $(date +%s%N); sleep 1; echo end $(date +%s%N)', logEnviron: false, ...extra });

/** [start, end] in ns of the step called `name` of a build, from its own output. */
async function span(w: BuildWorld, buildid: number, name: string): Promise<[bigint, bigint]> {
  const stored = await readBuild(w.db, buildid);
  const lines = stored.step(name)?.log('stdio')?.lines ?? [];
  const at = (word: string) => lines.find((l) => l.startsWith(`o${word} `))?.slice(word.length + 2);
  const [start, end] = [at('start'), at('end')];
  if (!start || !end) throw new Error(`no timestamps in ${name}: ${stored.dump()}`);
  return [BigInt(start), BigInt(end)];
}

function disjoint(a: [bigint, bigint], b: [bigint, bigint]): boolean {
  return a[1] <= b[0] || b[1] <= a[0];
}

describe('process/locks (real sshd)', function () {
  this.timeout(60_000);
  const env = useSshdPerSuite();

  forEachDialect('builder and step locks', (h) => {
    let w: BuildWorld;
    beforeEach(async () => {
      w = await makeWorld(h, env.sshd, env.ssh);
    });
    afterEach(async () => {
      await w?.conn.close();
    });

    it('an exclusive builder lock makes the second build wait in "acquiring locks"; the runs never overlap', async () => {
      const lock = new MasterLock('deploy');
      const config = w.config([timed('work')], { builder: { locks: [lock.access('exclusive')] } });
      const first = await w.start(config);
      await waitUntil(async () => (await getLockHolders(w.db)).length === 1, 15_000, 'the first build to hold the lock');
      const second = await w.start(config);
      await w.bus.waitFor(['builds', String(second.buildid), 'update'], (m: { state_string: string }) => m.state_string === 'acquiring locks');
      const [r1, r2] = await Promise.all([first.finished, second.finished]);
      expect([r1.results, r2.results]).to.deep.equal([SUCCESS, SUCCESS]);
      const [a, b] = [await span(w, first.buildid, 'work'), await span(w, second.buildid, 'work')];
      expect(disjoint(a, b), `${a} vs ${b}`).to.equal(true);
      expect(await getLockHolders(w.db)).to.deep.equal([]);
    });

    it('a counting step lock admits maxCount steps; the next waits in "waiting for locks"', async () => {
      const lock = new WorkerLock('cpu', { maxCount: 5, maxCountForWorker: { w1: 1 } });
      const config = w.config([timed('compile', { locks: [lock.access('counting')] })]);
      const [first, second] = [await w.start(config), await w.start(config)];
      const waited = w.bus.waitFor(['steps', '*', 'updated'], (m: { state_string: string }) => m.state_string === 'waiting for locks');
      const [r1, r2] = await Promise.all([first.finished, second.finished]);
      await waited;
      expect([r1.results, r2.results]).to.deep.equal([SUCCESS, SUCCESS]);
      const [a, b] = [await span(w, first.buildid, 'compile'), await span(w, second.buildid, 'compile')];
      expect(disjoint(a, b), `${a} vs ${b}`).to.equal(true);
      const holders = w.events.filter((e) => e.key[0] === 'locks' && e.key[2] === 'released');
      expect(holders.length).to.be.greaterThanOrEqual(2);
      expect(await getLockHolders(w.db)).to.deep.equal([]);
    });

    it('stopping a build that waits for its lock ends it CANCELLED and leaks nothing', async () => {
      const lock = new MasterLock('solo');
      const config = w.config([new ShellCommand({ name: 'hold', command: 'sleep 2' })], { builder: { locks: [lock.access('exclusive')] } });
      const first = await w.start(config);
      await waitUntil(async () => (await getLockHolders(w.db)).length === 1, 15_000, 'the first build to hold the lock');
      const second = await w.start(config);
      await w.bus.waitFor(['builds', String(second.buildid), 'update'], (m: { state_string: string }) => m.state_string === 'acquiring locks');
      second.stop('no longer wanted');
      expect((await second.finished).results).to.equal(CANCELLED);
      const holders = await getLockHolders(w.db);
      expect(holders.map((r) => r.buildid)).to.deep.equal([first.buildid]);
      const stored = await readBuild(w.db, second.buildid);
      expect(stored.build.results).to.equal(CANCELLED);
      expect(stored.steps.map((s) => s.name)).to.deep.equal(['worker_preparation']);
      expect((await first.finished).results).to.equal(SUCCESS);
      expect(await getLockHolders(w.db)).to.deep.equal([]);
    });

    it('stopping a step that waits for its lock cancels it with Buildbot\'s log; a failed holder releases too', async () => {
      const lock = new MasterLock('db-server');
      const holderCfg = w.config([new ShellCommand({ name: 'fails', command: 'sleep 2; exit 1', locks: [lock.access('exclusive')] })]);
      const waiterCfg = w.config([
        new ShellCommand({ name: 'wants', command: 'echo never', locks: [lock.access('counting')] }),
        new ShellCommand({ name: 'after', command: 'echo after', alwaysRun: true }),
      ]);
      const holder = await w.start(holderCfg);
      await waitUntil(async () => (await getLockHolders(w.db)).length === 1, 15_000, 'the holder step to take the lock');
      const waiter = await w.start(waiterCfg);
      await w.bus.waitFor(['steps', '*', 'updated'], (m: { state_string: string; buildid: number }) => m.state_string === 'waiting for locks' && m.buildid === waiter.buildid);
      waiter.stop('changed my mind');
      expect((await waiter.finished).results).to.equal(CANCELLED);
      const stored = await readBuild(w.db, waiter.buildid);
      expect(stored.step('wants')!.results, stored.dump()).to.equal(CANCELLED);
      expect(stored.step('wants')!.logs.map((l) => l.name)).to.include('cancelled while waiting for locks');
      expect(stored.step('wants')!.log('stdio')).to.equal(undefined);
      expect(stored.step('after')!.results).to.equal(SUCCESS);
      expect((await holder.finished).results).to.not.equal(SUCCESS);
      expect(await getLockHolders(w.db)).to.deep.equal([]);
    });
  });
});
