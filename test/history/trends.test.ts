import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { listAlerts, setAlertStatus } from '../../lib/history/alerts.js';
import { backfillFinishedBuilds, buildSource, recordFinishedBuild } from '../../lib/history/buildHistory.js';
import {
  buildDurationsByDay,
  buildDurationsPerBuild,
  durationsBy,
  failureRateByDay,
  failureRatesBy,
  stepDurationsByDay,
  stepDurationsPerBuild,
} from '../../lib/history/trends.js';
import { forEachDialect } from '../support/databases.js';
import { buildOf, finish, seedHistory, type HistorySeed } from './failureSeed.js';

const DAY = 86_400;
const T0 = 20_000 * DAY;
const N = 40;
const SLOW_FROM = 25;

forEachDialect('history trends and regression alerts', (h) => {
  let db: Database;
  let s: HistorySeed;
  beforeEach(async () => {
    db = await h.open();
    s = await seedHistory(db);
  });

  /** 40 hourly builds alternating workers; from build 25 on they are 30% slower; every 10th fails fast. */
  async function history(): Promise<{ ids: number[]; alerts: Awaited<ReturnType<typeof recordFinishedBuild>>['alerts'] }> {
    const ids: number[] = [];
    const alerts = [];
    for (let i = 0; i < N; i++) {
      const at = T0 + i * 3600;
      const b = await buildOf(db, s, { workerid: s.workers[i % 2]!, startedAt: at });
      const noise = ((i * 7) % 5) - 2;
      const failed = i % 10 === 9;
      const base = i < SLOW_FROM ? 100 : 130;
      await finish(db, b, at, { results: failed ? 2 : 0, build: failed ? 20 : base + 10 + noise, step: failed ? 15 : base + noise });
      ids.push(b.buildid);
      const r = await recordFinishedBuild(db, b.buildid, { now: at + 200 });
      expect(r.recorded).to.equal(true);
      alerts.push(...r.alerts);
    }
    return { ids, alerts };
  }

  it('raises one alert for the build and one for the step, at the first slow build, when the forward window fills', async () => {
    const { ids, alerts } = await history();
    expect(alerts.map((a) => [a.stepName, a.buildid, a.prevBuildid])).to.deep.equal([
      [null, ids[SLOW_FROM], ids[SLOW_FROM - 1]],
      ['compile', ids[SLOW_FROM], ids[SLOW_FROM - 1]],
    ]);
    const [build] = alerts;
    expect(build!.oldMean).to.be.closeTo(110, 1);
    expect(build!.newMean).to.be.closeTo(140, 1);
    expect(build!.percent).to.be.closeTo(27, 2);
    expect(build!.t).to.be.greaterThan(7);
    expect((await listAlerts(db, { builderid: s.builderid })).map((a) => a.id)).to.deep.equal([alerts[1]!.id, alerts[0]!.id]);
    expect((await listAlerts(db, { stepName: null })).map((a) => a.id)).to.deep.equal([build!.id]);
    expect(await setAlertStatus(db, build!.id, 'acknowledged')).to.equal(true);
    expect((await listAlerts(db, { status: 'acknowledged' })).map((a) => a.id)).to.deep.equal([build!.id]);
    expect(await setAlertStatus(db, 999, 'fixed')).to.equal(false);
    // Recording a build again changes nothing.
    expect(await recordFinishedBuild(db, ids[N - 1]!)).to.deep.equal({ recorded: false, alerts: [] });
  });

  it('answers durations per day and per build, by builder, worker and branch, and failure rates', async () => {
    const { ids } = await history();
    const [w1, w2] = s.workers as [number, number];
    const days = await buildDurationsByDay(db, { builderid: s.builderid });
    expect(days.map((d) => d.t)).to.deep.equal([T0, T0 + DAY]);
    expect(days.reduce((n, d) => n + d.count, 0)).to.equal(N - 4);
    expect(days[0]!.min).to.equal(108);
    expect(days[1]!.max).to.equal(142);
    const last5 = await buildDurationsPerBuild(db, { workerid: w1, limit: 5 });
    expect(last5.map((p) => p.buildid)).to.deep.equal([ids[30], ids[32], ids[34], ids[36], ids[38]]);
    expect(last5.every((p) => p.workerid === w1 && p.results === 0)).to.equal(true);
    expect((await buildDurationsPerBuild(db, { results: [2] })).map((p) => p.duration)).to.deep.equal([20, 20, 20, 20]);
    expect((await stepDurationsByDay(db, { stepName: 'compile', since: T0 + DAY })).map((d) => d.count)).to.deep.equal([N - 24 - 2]);
    expect((await stepDurationsPerBuild(db, { stepName: 'compile', branch: 'main', limit: 2 })).map((p) => p.buildid)).to.deep.equal([ids[37], ids[38]]);
    expect(await stepDurationsPerBuild(db, { stepName: 'compile', branch: null })).to.deep.equal([]);
    expect((await durationsBy(db, { by: 'branch' })).map((d) => [d.key, d.count])).to.deep.equal([['main', N - 4]]);
    expect((await durationsBy(db, { by: 'worker', stepName: 'compile' })).map((d) => [d.key, d.count])).to.deep.equal([[w1, 20], [w2, 16]]);

    const rates = await failureRateByDay(db, { builderid: s.builderid });
    expect(rates.map((r) => [r.key, r.builds, r.failed])).to.deep.equal([[T0, 24, 2], [T0 + DAY, 16, 2]]);
    expect((await failureRatesBy(db, { by: 'worker' })).map((r) => [r.key, r.builds, r.failed, r.rate])).to.deep.equal([[w2, 20, 4, 0.2], [w1, 20, 0, 0]]);
    expect((await failureRatesBy(db, { by: 'builder', since: T0 + DAY })).map((r) => [r.key, r.builds, r.failed])).to.deep.equal([[s.builderid, 16, 2]]);
  });

  it('backfills finished builds that were never recorded, and knows a build\'s branch and revision', async () => {
    const b = await buildOf(db, s, { workerid: null, startedAt: T0 });
    expect(await recordFinishedBuild(db, b.buildid)).to.deep.equal({ recorded: false, alerts: [] });
    await finish(db, b, T0, { results: 0, build: 50, step: 40 });
    expect(await buildSource(db, b.buildid)).to.deep.equal({ branch: 'main', revision: `rev${T0}` });
    expect(await backfillFinishedBuilds(db)).to.equal(1);
    expect(await backfillFinishedBuilds(db)).to.equal(0);
    expect((await buildDurationsPerBuild(db)).map((p) => [p.buildid, p.duration, p.workerid])).to.deep.equal([[b.buildid, 50, null]]);
  });
});
