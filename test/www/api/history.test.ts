import { expect } from 'chai';
import type { Database } from '../../../lib/db/connection.js';
import { addStep } from '../../../lib/db/steps.js';
import { recordFinishedBuild } from '../../../lib/history/buildHistory.js';
import { addKnownIssue } from '../../../lib/history/knownIssues.js';
import { recordStepFailures } from '../../../lib/history/signatures.js';
import type { WwwServer } from '../../../lib/www/app.js';
import { forEachDialect } from '../../support/databases.js';
import { seedFixture, startApi, type Fixture } from './apiFixture.js';

forEachDialect('data API: history extensions', (h) => {
  let db: Database;
  let server: WwwServer | undefined;
  let f: Fixture;
  let get: Awaited<ReturnType<typeof startApi>>['get'];

  beforeEach(async () => {
    db = await h.open();
    f = await seedFixture(db);
    const other = await addStep(db, f.buildids[3], 'compile');
    for (const [i, [buildid, stepid]] of [[f.buildids[1], f.stepid], [f.buildids[3], other.stepid]].entries()) {
      await recordStepFailures(db, { buildid, stepid, logid: f.logid, builderid: f.b1, workerid: f.workerid, branch: 'main', revision: 'abc123', at: 86_400 * (10 + i) }, [
        { line: 2, text: 'error: it broke at 0x1234' },
      ]);
    }
    for (const b of f.buildids.slice(0, 4)) await recordFinishedBuild(db, b);
    ({ server, get } = await startApi(db));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('lists failure signatures with counts, one signature, its occurrences and counts, a build\'s failures', async () => {
    const list = await get('/signatures');
    expect(list.status).to.equal(200);
    expect(list.body.meta.total).to.equal(1);
    const sig = list.body.signatures[0];
    expect(sig).to.include({ occurrences: 2, count: 2, first_buildid: f.buildids[1], last_buildid: f.buildids[3], known_issueid: null });
    expect((await get(`/signatures?builderid=${f.b2}`)).body.meta.total).to.equal(0);
    expect((await get(`/signatures/${sig.signatureid}`)).body.signatures[0].hash).to.equal(sig.hash);
    const occ = await get(`/signatures/${sig.signatureid}/occurrences?limit=1`);
    expect(occ.body.failures).to.have.length(1);
    expect(occ.body.failures[0]).to.include({ buildid: f.buildids[3], line: 2, text: 'error: it broke at 0x1234' });
    const counts = await get(`/signatures/${sig.signatureid}/counts?by=builder`);
    expect(counts.body.counts).to.deep.equal([{ key: f.b1, count: 2 }]);
    expect((await get(`/builds/${f.buildids[1]}/failures`)).body.failures[0].signatureid).to.equal(sig.signatureid);
    expect((await get('/signatures/999')).status).to.equal(404);
    const bad = await get('/signatures/1/counts?by=planet');
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.include("invalid value for by: 'planet'");
  });

  it('serves known issues, alerts, intermittents and trends', async () => {
    const k = await addKnownIssue(db, { title: 'flaky network', pattern: 'it broke' });
    expect((await get('/known_issues')).body.known_issues[0]).to.include({ known_issueid: k.id, title: 'flaky network', active: true });
    expect((await get(`/known_issues/${k.id}`)).status).to.equal(200);
    expect((await get('/alerts')).body).to.deep.equal({ alerts: [], meta: { total: 0 } });
    expect((await get('/intermittents')).body).to.deep.equal({ intermittents: [], meta: { total: 0 } });
    const [sig] = (await get('/signatures')).body.signatures;
    expect((await get(`/signatures/${sig.signatureid}/classifications`)).body.meta.total).to.be.a('number');
    const rates = await get(`/trends/failure_rates?by=builder`);
    expect(rates.status).to.equal(200);
    expect(rates.body.rates).to.deep.equal([{ key: f.b1, builds: 4, failed: 2, rate: 0.5 }]);
    const durations = await get(`/trends/build_durations?per=build&builderid=${f.b1}`);
    expect(durations.body.durations.map((d: { duration: number }) => d.duration)).to.deep.equal([5, 5]);
    expect((await get('/trends/step_durations')).status).to.equal(400);
  });
});
