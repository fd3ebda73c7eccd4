import { expect } from 'chai';
import { claimRequests, completeRequests, getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { maybeCompleteBuildset } from '../../lib/db/buildsets.js';
import { getState } from '../../lib/db/state.js';
import { FAILURE, SUCCESS, WARNINGS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { eventually, realSleep, scheduler, SchedulerHarness, type BuildsetView } from './harness.js';

forEachDialect('schedulers/Dependent', (h) => {
  let x: SchedulerHarness | undefined;
  afterEach(async () => {
    await x?.stopAll();
    x = undefined;
  });

  /** Ends every request of the buildset with `results` (as builds on some master would). */
  async function finish(bsid: number, results: number) {
    const db = x!.db;
    const brids = (await getRequestsOfBuildset(db, bsid)).map((r) => r.id);
    await claimRequests(db, brids, x!.masterid, 1);
    await completeRequests(db, brids, results, 2, x!.masterid);
    await maybeCompleteBuildset(db, bsid, 3);
    x!.bus.publish(['buildsets', String(bsid), 'complete'], { bsid, results });
  }
  const downstream = async (name: string): Promise<BuildsetView[]> => (await x!.buildsets()).filter((b) => b.properties.scheduler?.[0] === name);
  const upstream = (name: string, branch: string) => scheduler('SingleBranchScheduler', { name, branch, builderNames: ['b1'] });

  it('one upstream: builds the stamps of each upstream buildset that ends SUCCESS or WARNINGS', async () => {
    x = await SchedulerHarness.create(await h.open(), { pollIntervalMs: 100 });
    await x.start(upstream('up', 'main'));
    const dep = await x.start(scheduler('Dependent', { name: 'down', upstream: 'up', builderNames: ['b2'] }));
    for (const rev of ['r1', 'r2', 'r3']) await x.addChange({ branch: 'main', revision: rev });
    const ups = await eventually(async () => {
      const u = await downstream('up');
      return u.length === 3 ? u : undefined;
    }, 'three upstream buildsets');
    await finish(ups[0]!.bsid, SUCCESS);
    await finish(ups[1]!.bsid, FAILURE);
    await finish(ups[2]!.bsid, WARNINGS);
    const downs = await eventually(async () => {
      const d = await downstream('down');
      return d.length === 2 ? d : undefined;
    }, 'two downstream buildsets');
    await realSleep(300);
    expect((await downstream('down')).length).to.equal(2);
    expect(downs.map((d) => d.sourcestamps[0]!.revision)).to.deep.equal(['r1', 'r3']);
    expect(downs[0]!.reason).to.equal('downstream');
    expect(downs[0]!.builders).to.deep.equal(['b2']);
    expect(downs[0]!.sourcestamps[0]!.id).to.equal(ups[0]!.sourcestamps[0]!.id);
    expect(await getState(x.db, dep.objectid, 'upstream_bsids', null)).to.deep.equal([]);
  });

  it('several upstreams: a fan-in that builds once all of them succeeded on the same stamps', async () => {
    x = await SchedulerHarness.create(await h.open(), { pollIntervalMs: 100 });
    await x.start(upstream('linux', 'main'));
    await x.start(upstream('mac', 'main'));
    await x.start(scheduler('Dependent', { name: 'release', upstream: ['linux', 'mac'], builderNames: ['b2'] }));
    await x.addChange({ branch: 'main', revision: 'good' });
    await x.addChange({ branch: 'main', revision: 'bad' });
    const sets = await eventually(async () => {
      const all = await x!.buildsets();
      return all.length === 4 ? all : undefined;
    }, 'four upstream buildsets');
    const of = (sched: string, rev: string) => sets.find((b) => b.properties.scheduler![0] === sched && b.sourcestamps[0]!.revision === rev)!.bsid;
    await finish(of('linux', 'good'), SUCCESS);
    await finish(of('linux', 'bad'), SUCCESS);
    await realSleep(400);
    expect(await downstream('release')).to.deep.equal([]); // mac has not finished either
    await finish(of('mac', 'bad'), FAILURE);
    await finish(of('mac', 'good'), WARNINGS);
    const downs = await eventually(async () => {
      const d = await downstream('release');
      return d.length === 1 ? d : undefined;
    }, 'the fan-in buildset');
    await realSleep(300);
    expect((await downstream('release')).map((d) => d.sourcestamps[0]!.revision)).to.deep.equal(['good']);
    expect(downs[0]!.reason).to.equal('downstream');
  });
});
