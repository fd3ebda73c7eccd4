import { expect } from 'chai';
import { getSchedulers } from '../../lib/db/schedulers.js';
import { SchedulerManager, sameConfig } from '../../lib/schedulers/manager.js';
import { forEachDialect } from '../support/databases.js';
import { scheduler, SchedulerHarness } from './harness.js';

describe('schedulers/manager sameConfig', () => {
  it('compares functions by source and regular expressions by pattern', () => {
    const a = { fileIsImportant: (c: { files: string[] }) => c.files.length > 0, re: /x/, n: [1, { y: 2 }] };
    const b = { fileIsImportant: (c: { files: string[] }) => c.files.length > 0, re: /x/, n: [1, { y: 2 }] };
    expect(sameConfig(a, b)).to.equal(true);
    expect(sameConfig(a, { ...b, re: /y/ })).to.equal(false);
    expect(sameConfig(a, { ...b, fileIsImportant: () => true })).to.equal(false);
    expect(sameConfig(a, { ...b, n: [1, { y: 3 }] })).to.equal(false);
  });
});

forEachDialect('schedulers/manager', (h) => {
  let m: SchedulerManager | undefined;
  afterEach(async () => {
    await m?.stop();
    m = undefined;
  });

  it('starts every kind, registers and claims them, and on reconfig keeps, replaces, adds and removes by name', async () => {
    const x = await SchedulerHarness.create(await h.open());
    const configs = [
      scheduler('SingleBranchScheduler', { name: 'sb', branch: 'main', builderNames: ['b1'] }),
      scheduler('AnyBranchScheduler', { name: 'ab', builderNames: ['b1'], treeStableTimer: 5 }),
      scheduler('Periodic', { name: 'per', builderNames: ['b1'], periodicBuildTimer: 86400 }),
      scheduler('Nightly', { name: 'nightly', builderNames: ['b1'], hour: 3 }),
      scheduler('NightlyTriggerable', { name: 'nt', builderNames: ['b1'] }),
      scheduler('Triggerable', { name: 'trig', builderNames: ['b2'] }),
      scheduler('Dependent', { name: 'dep', upstream: 'sb', builderNames: ['b2'] }),
      scheduler('Try', { name: 'try', builderNames: ['b1'], token: 't' }),
      scheduler('ForceScheduler', { name: 'force', builderNames: ['b1'] }),
    ];
    m = await SchedulerManager.start(x.deps(), configs);
    expect(m.activeNames().sort()).to.deep.equal(['ab', 'dep', 'force', 'nightly', 'nt', 'per', 'sb', 'trig', 'try']);
    const rows = await getSchedulers(x.db);
    expect(rows.map((r) => [r.name, r.masterid])).to.have.deep.members(configs.map((c) => [c.name, x.masterid]));
    expect(m.triggerTarget('trig')?.name).to.equal('trig');
    expect(m.triggerTarget('nt')?.name).to.equal('nt');
    expect(m.triggerTarget('sb')).to.equal(undefined);
    expect(m.tryScheduler()?.name).to.equal('try');

    const sb = m.get('sb');
    const changed = await m.reconfig([
      scheduler('SingleBranchScheduler', { name: 'sb', branch: 'main', builderNames: ['b1'] }), // same
      scheduler('Periodic', { name: 'per', builderNames: ['b1'], periodicBuildTimer: 3600 }), // changed
      scheduler('Triggerable', { name: 'trig2', builderNames: ['b2'] }), // new
    ]);
    expect(changed).to.deep.equal({ added: ['trig2'], removed: ['ab', 'nightly', 'nt', 'trig', 'dep', 'try', 'force'], replaced: ['per'] });
    expect(m.get('sb')).to.equal(sb);
    expect(m.activeNames().sort()).to.deep.equal(['per', 'sb', 'trig2']);
    const after = await getSchedulers(x.db);
    expect(after.filter((r) => r.masterid !== null).map((r) => r.name).sort()).to.deep.equal(['per', 'sb', 'trig2']);
    await m.stop();
    m = undefined;
    expect((await getSchedulers(x.db)).filter((r) => r.masterid !== null)).to.deep.equal([]);
  });
});
