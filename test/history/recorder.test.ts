import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { MessageBus } from '../../lib/master/bus.js';
import type { RegressionAlert } from '../../lib/history/alerts.js';
import { listKnownIssues } from '../../lib/history/knownIssues.js';
import { BuildHistoryRecorder } from '../../lib/history/recorder.js';
import { buildDurationsPerBuild } from '../../lib/history/trends.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';
import { buildOf, finish, seedHistory } from './failureSeed.js';

forEachDialect('history BuildHistoryRecorder', (h) => {
  let db: Database;
  let recorder: BuildHistoryRecorder | undefined;
  beforeEach(async () => {
    db = await h.open();
  });
  afterEach(async () => {
    await recorder?.stop();
    recorder = undefined;
  });

  it('syncs the configured rules, records finished builds from the bus, publishes alerts, and follows a reconfig', async () => {
    const bus = new MessageBus();
    const regression = { backWindow: 4, forwardWindow: 4, tThreshold: 5, minChangePercent: 2 };
    recorder = await BuildHistoryRecorder.start({ db, bus, logger: silentLogger(), config: { knownIssues: [{ title: 'OOM', pattern: /out of memory/i }], regression } });
    expect((await listKnownIssues(db)).map((i) => [i.title, i.pattern])).to.deep.equal([['OOM', '/out of memory/i']]);

    const alerts: RegressionAlert[] = [];
    bus.subscribe(['regressionAlerts', '*', 'new'], (_k, a) => alerts.push(a as RegressionAlert));
    const s = await seedHistory(db);
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const at = 10_000 + i * 100;
      const b = await buildOf(db, s, { workerid: s.workers[0]!, startedAt: at });
      const d = (i < 6 ? 50 : 80) + (i % 3);
      await finish(db, b, at, { results: 0, build: d + 5, step: d });
      ids.push(b.buildid);
      bus.publish(['builds', String(b.buildid), 'finished'], {});
    }
    await recorder.idle();
    expect((await buildDurationsPerBuild(db)).map((p) => p.buildid)).to.deep.equal(ids);
    expect(alerts.map((a) => [a.buildid, a.stepName])).to.deep.equal([[ids[6], null], [ids[6], 'compile']]);

    await recorder.reconfig({ knownIssues: [{ title: 'disk', pattern: 'No space left' }], regression });
    expect((await listKnownIssues(db)).map((i) => i.title)).to.deep.equal(['disk']);
  });
});
