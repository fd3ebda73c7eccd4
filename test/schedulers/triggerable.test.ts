import { expect } from 'chai';
import { addBuildset, getBuildset } from '../../lib/db/buildsets.js';
import { claimRequests, completeRequests, getRequest, getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { maybeCompleteBuildset } from '../../lib/db/buildsets.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { CANCELLED, FAILURE } from '../../lib/process/results.js';
import type { TriggerableScheduler } from '../../lib/schedulers/triggerable.js';
import { TriggerService } from '../../lib/schedulers/triggerService.js';
import { TryJobError, type TryScheduler } from '../../lib/schedulers/try.js';
import { forEachDialect } from '../support/databases.js';
import { scheduler, SchedulerHarness } from './harness.js';
import { findSourcestampsOf } from './stamps.js';

forEachDialect('schedulers/Triggerable and Try', (h) => {
  let x: SchedulerHarness | undefined;
  afterEach(async () => {
    await x?.stopAll();
    x = undefined;
  });

  it('Triggerable: a buildset from the given stamps over the codebase defaults, with the parent and the trigger properties', async () => {
    x = await SchedulerHarness.create(await h.open());
    const s = await x.start<TriggerableScheduler>(
      scheduler('Triggerable', { name: 'tests', builderNames: ['b1', 'b2'], properties: { suite: 'all', mode: 'sched' }, codebases: { app: { repository: 'https://x/app', branch: 'main' }, lib: { repository: 'https://x/lib', branch: 'stable' } } }),
    );
    const parent = await addBuildset(x.db, { sourcestamps: [{ codebase: 'app', revision: 'p' }], reason: 'parent', properties: {}, builderids: [] });
    const ssid = (await findSourcestampsOf(x.db, parent.bsid))[0]!;
    const r = await s.trigger({
      waited_for: true,
      sourcestamps: [{ ssid, codebase: 'app', revision: 'got123' }],
      set_props: { mode: ['trigger', 'Trigger'], reason: ['nightly run', 'Trigger'] },
      parent_buildid: null,
      parent_relationship: 'Triggered from',
    });
    expect(Object.keys(r.brids)).to.have.length(2);
    const bs = (await x.buildsets()).find((b) => b.bsid === r.bsid)!;
    expect(bs.reason).to.equal('nightly run');
    expect(bs.waited_for).to.equal(true);
    expect(bs.parent_relationship).to.equal('Triggered from');
    expect(bs.properties).to.deep.equal({ mode: ['trigger', 'Trigger'], reason: ['nightly run', 'Trigger'], scheduler: ['tests', 'Scheduler'], suite: ['all', 'Scheduler'] });
    expect(bs.sourcestamps.map((ss) => [ss.codebase, ss.repository, ss.branch, ss.revision])).to.deep.equal([
      ['app', '', null, 'got123'],
      ['lib', 'https://x/lib', 'stable', null],
    ]);
  });

  it('the trigger service waits for a buildset another master completes (DB poll), and cancels requests nobody started', async () => {
    x = await SchedulerHarness.create(await h.open());
    const db = x.db;
    const svc = new TriggerService({
      db, bus: x.bus, logger: x.deps().logger, masterid: x.masterid, buildbotURL: 'http://ci.example/', pollIntervalMs: 50,
      ownsBuild: () => false, target: () => undefined, now: () => Math.floor(Date.now() / 1000),
    });
    const b1 = x.builderIds.get('b1')!;
    const one = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 't', properties: {}, builderids: [b1] });
    const waiting = svc.waitForBuildset(one.bsid, new AbortController().signal);
    const brid = one.brids[b1]!;
    await claimRequests(db, [brid], x.masterid, 1);
    await completeRequests(db, [brid], FAILURE, 2, x.masterid);
    await maybeCompleteBuildset(db, one.bsid, 3); // no bus message: as on another master
    expect(await waiting).to.equal(FAILURE);

    const two = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 't', properties: {}, builderids: [b1, x.builderIds.get('b2')!] });
    const [r1, r2] = (await getRequestsOfBuildset(db, two.bsid)).map((r) => r.id);
    const other = await findOrCreateMaster(db, 'host:/other');
    await claimRequests(db, [r2!], other, 1); // another master is building it
    const ac = new AbortController();
    const wait2 = svc.waitForBuildset(two.bsid, ac.signal);
    ac.abort();
    expect(await wait2).to.equal(undefined);
    expect(await svc.cancelRequests([r1!, r2!])).to.deep.equal([r1]);
    expect(await getRequest(db, r1!)).to.include({ complete: 1, results: CANCELLED });
    expect(await getRequest(db, r2!)).to.include({ complete: 0, claimed_by_masterid: other });
    expect(svc.buildUrl(3, 7)).to.equal('http://ci.example/#/builders/3/builds/7');
    expect(svc.requestUrl(9)).to.equal('http://ci.example/#/buildrequests/9');
    expect((await getBuildset(db, two.bsid))!.complete).to.equal(0);
  });

  it('Try: checks userpass and token, builds the patch on the named builders, refuses unknown builders and empty patches', async () => {
    x = await SchedulerHarness.create(await h.open());
    const s = await x.start<TryScheduler>(
      scheduler('Try', { name: 'try', builderNames: ['b1', 'b2'], userpass: [['alice', 'wonder'], ['bob', { kind: 'Secret', name: 'trypass' }]], token: 'tok-123', properties: { kind: 'try' } }),
    );
    expect(await s.checkUserpass('alice', 'wonder')).to.equal(true);
    expect(await s.checkUserpass('alice', 'sesame')).to.equal(false);
    expect(await s.checkUserpass('bob', 'sesame')).to.equal(true);
    expect(await s.checkToken('tok-123')).to.equal(true);
    expect(await s.checkToken('tok-124')).to.equal(false);

    const diff = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n';
    const r = await s.submit({ patch: diff, baseRevision: 'base1', branch: 'main', builderNames: ['b2'], who: 'alice', comment: 'fix it', properties: { kind: 'mine', extra: 1 } });
    expect(r.builderNames).to.deep.equal(['b2']);
    const [bs] = await x.buildsets();
    expect(bs!.reason).to.equal("'try' job by user alice (fix it)");
    expect(bs!.builders).to.deep.equal(['b2']);
    expect(bs!.properties).to.deep.equal({ extra: [1, 'try build'], kind: ['try', 'Scheduler'], scheduler: ['try', 'Scheduler'] });
    const ss = bs!.sourcestamps[0]!;
    expect([ss.branch, ss.revision, ss.codebase]).to.deep.equal(['main', 'base1', '']);
    expect(Buffer.from(ss.patch!.patch_base64, 'base64').toString()).to.equal(diff);
    expect(ss.patch).to.include({ patchlevel: 1, patch_author: 'alice', patch_comment: 'fix it' });

    let err: unknown;
    await s.submit({ patch: diff, builderNames: ['b3'] }).catch((e) => (err = e));
    expect(err).to.be.instanceOf(TryJobError);
    expect((err as Error).message).to.contain('b3');
    err = undefined;
    await s.submit({ patch: '' }).catch((e) => (err = e));
    expect(err).to.be.instanceOf(TryJobError);
    expect(await x.buildsetCount()).to.equal(1);
  });
});
