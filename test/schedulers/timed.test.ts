import { expect } from 'chai';
import sinon from 'sinon';
import { getState } from '../../lib/db/state.js';
import type { NightlyTriggerableScheduler } from '../../lib/schedulers/nightlyTriggerable.js';
import { SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { scheduler, SchedulerHarness } from './harness.js';

const TO_FAKE = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;
const at = (iso: string) => Date.parse(iso);
const secs = (iso: string) => Date.parse(iso) / 1000;

forEachDialect('schedulers/timed', (h) => {
  let x: SchedulerHarness | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    await x?.stopAll();
    x = undefined;
    clock?.restore();
    clock = undefined;
  });
  async function setUp(startIso: string) {
    clock = sinon.useFakeTimers({ now: at(startIso), toFake: [...TO_FAKE] });
    x = await SchedulerHarness.create(await h.open());
    return { x, clock };
  }
  /** Move the clock to `iso`, running timers on the way, and let the schedulers finish their work. */
  async function tickTo(iso: string) {
    await clock!.tickAsync(at(iso) - Date.now());
    await x!.idle();
    await clock!.tickAsync(0);
    await x!.idle();
  }

  describe('Periodic', () => {
    const config = () => scheduler('Periodic', { name: 'hourly', builderNames: ['b1'], periodicBuildTimer: 3600 });

    it('builds at first start (as Buildbot), then every interval, keeping its phase across a restart', async () => {
      const { x, clock } = await setUp('2024-05-01T10:00:00Z');
      const [s] = await x.restart([config()]);
      await tickTo('2024-05-01T10:00:00Z');
      expect(await x.buildsetCount()).to.equal(1);
      await tickTo('2024-05-01T10:59:59Z');
      expect(await x.buildsetCount()).to.equal(1);
      await tickTo('2024-05-01T11:00:01Z');
      expect(await x.buildsetCount()).to.equal(2);

      await x.stopAll();
      clock.setSystemTime(at('2024-05-01T14:20:00Z')); // 12:00, 13:00 and 14:00 passed while down
      await x.restart([config()]);
      await x.idle();
      await tickTo('2024-05-01T14:20:01Z');
      expect(await x.buildsetCount()).to.equal(3); // once for the missed slots
      expect(await getState(x.db, s!.objectid, 'last_build', null)).to.equal(secs('2024-05-01T14:00:00Z'));
      await tickTo('2024-05-01T14:59:58Z');
      expect(await x.buildsetCount()).to.equal(3); // not 15:20: the phase is kept
      await tickTo('2024-05-01T15:00:01Z');
      expect(await x.buildsetCount()).to.equal(4);
      const sets = await x.buildsets();
      expect(sets[0]!.reason).to.equal("The Periodic scheduler named 'hourly' triggered this build");
      expect(sets[0]!.properties).to.deep.equal({ scheduler: ['hourly', 'Scheduler'] });
      expect(sets[0]!.sourcestamps.map((ss) => [ss.codebase, ss.branch, ss.revision])).to.deep.equal([['', null, null]]);
    });
  });

  describe('Nightly', () => {
    const config = (extra: Record<string, unknown> = {}) =>
      scheduler('Nightly', { name: 'nightly', builderNames: ['b1', 'b2'], hour: 3, minute: 0, timezone: 'UTC', branch: 'main', ...extra });

    it('builds once per due slot; slots missed while down build once at start, across a simulated restart', async () => {
      const { x, clock } = await setUp('2024-01-01T00:00:00Z');
      const [s] = await x.restart([config()]);
      await x.idle();
      expect(await x.buildsetCount()).to.equal(0);
      await tickTo('2024-01-01T03:00:01Z');
      expect(await x.buildsetCount()).to.equal(1);
      await tickTo('2024-01-01T23:00:00Z');
      expect(await x.buildsetCount()).to.equal(1);

      await x.stopAll();
      clock.setSystemTime(at('2024-01-04T12:00:00Z')); // Jan 2, 3 and 4 at 03:00 passed while down
      await x.restart([config()]);
      await tickTo('2024-01-04T12:00:01Z');
      expect(await x.buildsetCount()).to.equal(2);
      expect(await getState(x.db, s!.objectid, 'last_build', null)).to.equal(secs('2024-01-04T03:00:00Z'));

      await x.restart([config()]); // a restart between slots builds nothing
      await tickTo('2024-01-05T02:59:00Z');
      expect(await x.buildsetCount()).to.equal(2);
      await tickTo('2024-01-05T03:00:01Z');
      expect(await x.buildsetCount()).to.equal(3);
      const sets = await x.buildsets();
      // Our addition: `branch` is what the codebase builds.
      expect(sets[0]!.sourcestamps.map((ss) => ss.branch)).to.deep.equal(['main']);
      expect(sets[0]!.builders).to.deep.equal(['b1', 'b2']);
    });

    it('dayOfWeek counts from Monday = 0, as Buildbot', async () => {
      // 2024-01-01 is a Monday.
      const { x } = await setUp('2024-01-01T00:00:00Z');
      await x.restart([config({ dayOfWeek: 2, hour: 1 })]); // Wednesdays 01:00
      await tickTo('2024-01-03T00:59:00Z');
      expect(await x.buildsetCount()).to.equal(0);
      await tickTo('2024-01-03T01:00:01Z');
      expect(await x.buildsetCount()).to.equal(1);
      await tickTo('2024-01-09T23:00:00Z');
      expect(await x.buildsetCount()).to.equal(1);
    });

    it('onlyIfChanged skips a slot without an important change (from the second slot on, as Buildbot) and builds the changes', async () => {
      const { x } = await setUp('2024-01-01T00:00:00Z');
      await x.restart([config({ onlyIfChanged: true, fileIsImportant: (c: { files: string[] }) => c.files.length > 0 })]);
      await tickTo('2024-01-01T03:00:01Z');
      expect(await x.buildsetCount()).to.equal(1); // Buildbot builds the first slot regardless
      await tickTo('2024-01-02T03:00:01Z');
      expect(await x.buildsetCount()).to.equal(1); // nothing changed
      await x.addChange({ branch: 'main', revision: 'r1' }); // unimportant (no files)
      await x.addChange({ branch: 'dev', revision: 'd1', files: ['x'] }); // another branch
      await x.idle();
      await tickTo('2024-01-03T03:00:01Z');
      expect(await x.buildsetCount()).to.equal(1);
      await x.addChange({ branch: 'main', revision: 'r2', files: ['x'] });
      await x.idle();
      await tickTo('2024-01-04T03:00:01Z');
      const sets = await x.buildsets();
      expect(sets).to.have.length(2);
      expect(sets[1]!.sourcestamps.map((ss) => ss.revision)).to.deep.equal(['r2']);
    });
  });

  describe('NightlyTriggerable', () => {
    it('records the last trigger and builds it at the next slot, once', async () => {
      const { x } = await setUp('2024-01-01T00:00:00Z');
      const [s] = await x.restart<NightlyTriggerableScheduler>([
        scheduler('NightlyTriggerable', { name: 'nt', builderNames: ['b2'], hour: 2, minute: 30, timezone: 'UTC', properties: { flavour: 'nightly' } }),
      ]);
      await tickTo('2024-01-01T02:30:01Z');
      expect(await x.buildsetCount()).to.equal(0); // no trigger: nothing to build
      const first = await s!.trigger({ waited_for: false, sourcestamps: [{ codebase: '', branch: 'main', revision: 'old' }], set_props: {}, parent_buildid: null, parent_relationship: null });
      expect(first).to.deep.equal({ brids: {}, results: SUCCESS });
      await s!.trigger({
        waited_for: true,
        sourcestamps: [{ codebase: '', branch: 'main', revision: 'abc', repository: 'https://x/r' }],
        set_props: { from: ['parent', 'Trigger'] },
        parent_buildid: null,
        parent_relationship: 'Triggered from',
      });
      await tickTo('2024-01-02T02:30:01Z');
      const sets = await x.buildsets();
      expect(sets).to.have.length(1);
      expect(sets[0]!.sourcestamps.map((ss) => [ss.branch, ss.revision, ss.repository])).to.deep.equal([['main', 'abc', 'https://x/r']]);
      expect(sets[0]!.properties).to.deep.equal({ flavour: ['nightly', 'Scheduler'], from: ['parent', 'Trigger'], scheduler: ['nt', 'Scheduler'] });
      expect(sets[0]!.parent_relationship).to.equal('Triggered from');
      expect(await getState(x.db, s!.objectid, 'lastTrigger', 'none')).to.equal('none');
      await tickTo('2024-01-03T02:30:01Z');
      expect(await x.buildsetCount()).to.equal(1);
    });
  });
});
