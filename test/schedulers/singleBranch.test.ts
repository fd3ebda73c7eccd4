import { expect } from 'chai';
import sinon from 'sinon';
import { ChangeFilter } from '../../lib/config/changeFilter.js';
import { getChangeClassifications, getScheduler } from '../../lib/db/schedulers.js';
import { forEachDialect } from '../support/databases.js';
import { eventually, realSleep, scheduler, SchedulerHarness } from './harness.js';

const T0 = Date.parse('2024-03-04T10:00:00Z');
const FAKE = { now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const };

forEachDialect('schedulers/SingleBranchScheduler', (h) => {
  let harnesses: SchedulerHarness[] = [];
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    for (const x of harnesses) await x.stopAll();
    harnesses = [];
  });
  async function harness(opts: Parameters<typeof SchedulerHarness.create>[1] = {}) {
    const x = await SchedulerHarness.create(await h.open(), opts);
    harnesses.push(x);
    return x;
  }

  describe('without treeStableTimer', () => {
    const config = () =>
      scheduler('SingleBranchScheduler', {
        name: 'main-sb',
        branch: 'main',
        builderNames: ['b1', 'b2'],
        properties: { owner: 'ci' },
        fileIsImportant: (c: { files: string[] }) => c.files.some((f) => f.endsWith('.c')),
      });

    it('adds a buildset per important change on its branch and codebase, with the change stamp and properties', async () => {
      const x = await harness();
      const s = await x.start(config());
      expect(s.active).to.equal(true);
      const c1 = await x.addChange({ branch: 'main', revision: 'r1', files: ['src/a.c'], properties: { ticket: 7, owner: 'change' } });
      await x.addChange({ branch: 'main', revision: 'r2', files: ['README'] }); // not important
      await x.addChange({ branch: 'dev', revision: 'r3', files: ['src/a.c'] }); // other branch
      await x.addChange({ branch: 'main', revision: 'r4', files: ['src/a.c'], codebase: 'other' }); // other codebase
      await x.idle();
      const sets = await x.buildsets();
      expect(sets).to.have.length(1);
      const [bs] = sets;
      expect(bs!.builders).to.deep.equal(['b1', 'b2']);
      expect(bs!.reason).to.equal("The SingleBranchScheduler scheduler named 'main-sb' triggered this build");
      // Buildbot: scheduler properties, then the changes' (which win).
      expect(bs!.properties).to.deep.equal({ owner: ['change', 'Change'], scheduler: ['main-sb', 'Scheduler'], ticket: [7, 'Change'] });
      expect(bs!.sourcestamps.map((ss) => [ss.branch, ss.revision, ss.codebase])).to.deep.equal([['main', 'r1', '']]);
      expect(c1).to.be.a('number');
      expect(await getChangeClassifications(x.db, s.schedulerid)).to.deep.equal([]);
    });

    it('sees changes another master stored (no bus event) by polling from its mark', async () => {
      const x = await harness({ pollIntervalMs: 100 });
      await x.start(config());
      await x.addChange({ branch: 'main', revision: 'r1', files: ['x.c'] }, { quiet: true });
      await eventually(async () => (await x.buildsetCount()) === 1, 'the polled change to be built');
      await realSleep(300);
      expect(await x.buildsetCount()).to.equal(1);
    });

    it('builds only changes that come after it was created, and each once across a restart', async () => {
      const x = await harness();
      await x.addChange({ branch: 'main', revision: 'old', files: ['x.c'] });
      await x.start(config());
      await x.idle();
      expect(await x.buildsetCount()).to.equal(0);
      await x.addChange({ branch: 'main', revision: 'r1', files: ['x.c'] });
      await x.idle();
      await x.stopAll();
      // Stored while no master ran the scheduler: found from the mark at the next start.
      await x.addChange({ branch: 'main', revision: 'r2', files: ['x.c'] }, { quiet: true });
      await x.restart([config()]);
      await x.idle();
      const revs = (await x.buildsets()).map((b) => b.sourcestamps[0]!.revision);
      expect(revs).to.deep.equal(['r1', 'r2']);
    });

    it('is active on one of two masters; the other takes it over when it stops, and no change is built twice', async () => {
      const db = await h.open();
      const a = await SchedulerHarness.create(db, { masterName: 'host:/a', claimIntervalMs: 100, pollIntervalMs: 100 });
      const b = await SchedulerHarness.create(await h.connect(), { masterName: 'host:/b', claimIntervalMs: 100, pollIntervalMs: 100 });
      harnesses.push(a, b);
      const sa = await a.start(config());
      const sb = await b.start(config());
      expect([sa.active, sb.active]).to.deep.equal([true, false]);
      expect((await getScheduler(db, sa.schedulerid))!.masterid).to.equal(a.masterid);
      await a.addChange({ branch: 'main', revision: 'r1', files: ['x.c'] });
      await b.addChange({ branch: 'main', revision: 'r2', files: ['x.c'] }); // on b's bus: b is not active, a polls it
      await eventually(async () => (await a.buildsetCount()) === 2, 'both changes built by a');
      await a.stopAll();
      await eventually(() => sb.active, 'b to take the scheduler over');
      await b.addChange({ branch: 'main', revision: 'r3', files: ['x.c'] });
      await eventually(async () => (await b.buildsetCount()) === 3, 'r3 built by b');
      await realSleep(300);
      const revs = (await b.buildsets()).map((s) => s.sourcestamps[0]!.revision).sort();
      expect(revs).to.deep.equal(['r1', 'r2', 'r3']);
    });
  });

  describe('with treeStableTimer (fake clock)', () => {
    const config = (extra: Record<string, unknown> = {}) =>
      scheduler('SingleBranchScheduler', { name: 'stable', branch: 'main', treeStableTimer: 60, builderNames: ['b1'], ...extra });

    it('waits until no important change came for the timer, then builds all classified changes once', async () => {
      clock = sinon.useFakeTimers({ ...FAKE, toFake: [...FAKE.toFake] });
      const x = await harness();
      const s = await x.start(config({ fileIsImportant: (c: { files: string[] }) => !c.files.includes('docs.txt') }));
      await x.addChange({ branch: 'main', revision: 'r1', files: ['a.c'] });
      await x.idle();
      await clock.tickAsync(40_000);
      await x.addChange({ branch: 'main', revision: 'r2', files: ['docs.txt'] }); // unimportant, but a timer runs: restarts it
      await x.idle();
      await clock.tickAsync(40_000); // 80 s after r1, 40 s after r2
      await x.idle();
      expect(await x.buildsetCount()).to.equal(0);
      await clock.tickAsync(21_000);
      await x.idle();
      const sets = await x.buildsets();
      expect(sets).to.have.length(1);
      expect(sets[0]!.sourcestamps.map((ss) => ss.revision)).to.deep.equal(['r2']); // the newest change's stamp
      expect(await getChangeClassifications(x.db, s.schedulerid)).to.deep.equal([]);
      await clock.tickAsync(600_000);
      await x.idle();
      expect(await x.buildsetCount()).to.equal(1);
    });

    it('an unimportant change alone starts no timer (and onlyImportant drops it)', async () => {
      clock = sinon.useFakeTimers({ ...FAKE, toFake: [...FAKE.toFake] });
      const x = await harness();
      const s = await x.start(config({ fileIsImportant: () => false }));
      await x.addChange({ branch: 'main', revision: 'r1' });
      await x.idle();
      expect((await getChangeClassifications(x.db, s.schedulerid)).map((c) => c.important)).to.deep.equal([false]);
      await clock.tickAsync(120_000);
      await x.idle();
      expect(await x.buildsetCount()).to.equal(0);
      const only = await x.restart([config({ name: 'strict', fileIsImportant: () => false, onlyImportant: true })]);
      await x.addChange({ branch: 'main', revision: 'r2' });
      await x.idle();
      expect(await getChangeClassifications(x.db, only[0]!.schedulerid)).to.deep.equal([]);
    });

    it('a timer pending when the master stops fires once, at its deadline, after the restart', async () => {
      clock = sinon.useFakeTimers({ ...FAKE, toFake: [...FAKE.toFake] });
      const x = await harness();
      await x.start(config());
      await x.addChange({ branch: 'main', revision: 'r1', files: ['a.c'] });
      await x.idle();
      await clock.tickAsync(30_000);
      await x.stopAll();
      clock.setSystemTime(T0 + 45_000); // down for 15 s
      await x.restart([config()]);
      await x.idle();
      await clock.tickAsync(14_000); // 59 s after the change
      await x.idle();
      expect(await x.buildsetCount()).to.equal(0);
      await clock.tickAsync(2_000);
      await x.idle();
      expect(await x.buildsetCount()).to.equal(1);
      await x.restart([config()]);
      await clock.tickAsync(300_000);
      await x.idle();
      expect(await x.buildsetCount()).to.equal(1);
    });

    it('a deadline that passed while no master ran the scheduler fires once at start', async () => {
      clock = sinon.useFakeTimers({ ...FAKE, toFake: [...FAKE.toFake] });
      const x = await harness();
      await x.start(config());
      await x.addChange({ branch: 'main', revision: 'r1', files: ['a.c'] });
      await x.addChange({ branch: 'main', revision: 'r2', files: ['b.c'] });
      await x.idle();
      await x.stopAll();
      clock.setSystemTime(T0 + 3_600_000);
      await x.restart([config()]);
      await x.idle();
      await clock.tickAsync(0);
      await x.idle();
      const sets = await x.buildsets();
      expect(sets.map((b) => b.sourcestamps[0]!.revision)).to.deep.equal(['r2']);
      await clock.tickAsync(120_000);
      await x.idle();
      expect(await x.buildsetCount()).to.equal(1);
    });
  });

  it('createAbsoluteSourceStamps builds the last change seen on codebases without a change', async () => {
    const x = await harness();
    const filter = new ChangeFilter({ branch: 'main' });
    const config = scheduler('SingleBranchScheduler', {
      name: 'abs',
      change_filter: filter,
      builderNames: ['b1'],
      createAbsoluteSourceStamps: true,
      codebases: { app: { repository: 'https://x/app', branch: 'main' }, lib: { repository: 'https://x/lib', branch: 'main' } },
    });
    await x.start(config);
    await x.addChange({ branch: 'main', revision: 'a1', codebase: 'app', repository: 'https://x/app' });
    await x.idle();
    await x.addChange({ branch: 'main', revision: 'l1', codebase: 'lib', repository: 'https://x/lib' });
    await x.idle();
    const stamps = (await x.buildsets()).map((b) => b.sourcestamps.map((ss) => `${ss.codebase}@${ss.revision ?? 'HEAD'}`));
    expect(stamps).to.deep.equal([
      ['app@a1', 'lib@HEAD'],
      ['app@a1', 'lib@l1'],
    ]);
  });
});
