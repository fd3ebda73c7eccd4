import { expect } from 'chai';
import sinon from 'sinon';
import { ChangeFilter } from '../../lib/config/changeFilter.js';
import { getChangeClassifications } from '../../lib/db/schedulers.js';
import { forEachDialect } from '../support/databases.js';
import { scheduler, SchedulerHarness } from './harness.js';

const TO_FAKE = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

forEachDialect('schedulers/AnyBranchScheduler', (h) => {
  let x: SchedulerHarness | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    await x?.stopAll();
    x = undefined;
    clock?.restore();
    clock = undefined;
  });

  it('keeps one tree-stable timer per branch; each buildset holds its branch only, and forgets only its changes', async () => {
    clock = sinon.useFakeTimers({ now: Date.parse('2024-02-01T12:00:00Z'), toFake: [...TO_FAKE] });
    x = await SchedulerHarness.create(await h.open());
    const s = await x.start(
      scheduler('AnyBranchScheduler', {
        name: 'features',
        change_filter: new ChangeFilter({ branch_re: '^feature/' }),
        treeStableTimer: 30,
        builderNames: ['b1'],
      }),
    );
    await x.addChange({ branch: 'feature/a', revision: 'a1' });
    await x.idle();
    await clock.tickAsync(20_000);
    await x.addChange({ branch: 'feature/b', revision: 'b1' });
    await x.addChange({ branch: 'main', revision: 'm1' }); // not for this scheduler
    await x.idle();
    await clock.tickAsync(15_000); // a's timer (30 s) fires; b's runs on
    await x.idle();
    let sets = await x.buildsets();
    expect(sets.map((b) => b.sourcestamps.map((ss) => ss.revision))).to.deep.equal([['a1']]);
    expect((await getChangeClassifications(x.db, s.schedulerid)).map((c) => c.branch)).to.deep.equal(['feature/b']);
    await x.addChange({ branch: 'feature/b', revision: 'b2' });
    await x.idle();
    await clock.tickAsync(29_000);
    await x.idle();
    expect(await x.buildsetCount()).to.equal(1);
    await clock.tickAsync(2_000);
    await x.idle();
    sets = await x.buildsets();
    expect(sets.map((b) => b.sourcestamps.map((ss) => `${ss.branch}@${ss.revision}`))).to.deep.equal([['feature/a@a1'], ['feature/b@b2']]);
    expect(await getChangeClassifications(x.db, s.schedulerid)).to.deep.equal([]);
  });

  it('without a timer builds every change of any branch (branches narrows them)', async () => {
    x = await SchedulerHarness.create(await h.open());
    await x.start(scheduler('AnyBranchScheduler', { name: 'some', branches: ['main', null], builderNames: ['b1', 'b2'] }));
    await x.addChange({ branch: 'main', revision: 'm1' });
    await x.addChange({ branch: null, revision: 'd1' });
    await x.addChange({ branch: 'other', revision: 'o1' });
    await x.idle();
    const sets = await x.buildsets();
    expect(sets.map((b) => [b.sourcestamps[0]!.revision, b.builders.join(',')])).to.deep.equal([
      ['m1', 'b1,b2'],
      ['d1', 'b1,b2'],
    ]);
  });
});
