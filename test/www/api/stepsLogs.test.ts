import { expect } from 'chai';
import { claimChangesource, findOrCreateChangesource } from '../../../lib/db/changesources.js';
import type { Database } from '../../../lib/db/connection.js';
import { claimScheduler, findSchedulerId } from '../../../lib/db/schedulers.js';
import type { WwwServer } from '../../../lib/www/app.js';
import { forEachDialect } from '../../support/databases.js';
import { seedFixture, startApi, type Fixture } from './apiFixture.js';

forEachDialect('data API: steps, logs, changes, workers, masters, services, tests, extensions', (h) => {
  let db: Database;
  let server: WwwServer | undefined;
  let f: Fixture;
  let get: Awaited<ReturnType<typeof startApi>>['get'];

  beforeEach(async () => {
    db = await h.open();
    f = await seedFixture(db);
    ({ server, get } = await startApi(db));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('serves steps by id, number and name under every build form', async () => {
    const want = { stepid: f.stepid, number: 0, name: 'compile', buildid: f.buildids[1], started_at: null, complete: true, complete_at: 3016, results: 2, state_string: 'compile failed', urls: [], hidden: false };
    for (const p of [`/steps/${f.stepid}`, `/builds/${f.buildids[1]}/steps/0`, `/builds/${f.buildids[1]}/steps/compile`, `/builders/${f.b1}/builds/2/steps/compile`, '/builders/linux/builds/2/steps/0']) {
      const r = await get(p);
      expect(r.status, p).to.equal(200);
      expect(r.body, p).to.deep.equal({ steps: [want], meta: {} });
    }
    expect((await get(`/builds/${f.buildids[1]}/steps`)).body).to.deep.equal({ steps: [want], meta: { total: 1 } });
    expect((await get(`/builds/${f.buildids[1]}/steps?results__ne=2`)).body.meta.total).to.equal(0);
    expect((await get(`/builds/${f.buildids[1]}/steps/nosuch`)).status).to.equal(404);
    expect((await get('/builders/linux/builds/99/steps')).status).to.equal(404);
  });

  it('serves logs, their contents by line range and raw, as Buildbot', async () => {
    const log = { logid: f.logid, name: 'stdio', slug: 'stdio', stepid: f.stepid, complete: true, num_lines: 3, type: 's' };
    expect((await get(`/logs/${f.logid}`)).body).to.deep.equal({ logs: [log], meta: {} });
    expect((await get(`/builds/${f.buildids[1]}/steps/compile/logs/stdio`)).body.logs[0]).to.deep.equal(log);
    expect((await get(`/steps/${f.stepid}/logs`)).body).to.deep.equal({ logs: [log], meta: { total: 1 } });
    const all = await get(`/logs/${f.logid}/contents`);
    expect(all.body).to.deep.equal({ logchunks: [{ logid: f.logid, firstline: 0, content: 'ohello\neerror: it broke\nhexit 1\n' }], meta: {} });
    const part = await get(`/builders/${f.b1}/builds/2/steps/0/logs/stdio/contents?offset=1&limit=1`);
    expect(part.body.logchunks[0]).to.deep.equal({ logid: f.logid, firstline: 1, content: 'eerror: it broke\n' });
    const raw = await get(`/logs/${f.logid}/raw`);
    expect(raw.text).to.equal('hello\nerror: it broke\nexit 1');
    expect(raw.headers.get('content-disposition')).to.equal('attachment; filename=stdio');
    expect(raw.headers.get('content-type')).to.match(/^text\/plain/);
    expect((await get('/logs/9999/contents')).status).to.equal(404);
  });

  it('gives per-line timestamps only under our own path', async () => {
    const r = await get(`/logs/${f.logid}/lines?offset=1&limit=5`);
    expect(r.body).to.deep.equal({
      lines: [
        { logid: f.logid, line: 1, content: 'eerror: it broke', timestamp: f.stamps[1] },
        { logid: f.logid, line: 2, content: 'hexit 1', timestamp: f.stamps[2] },
      ],
      meta: { total: 3 },
    });
    const errors = await get(`/steps/${f.stepid}/logs/stdio/lines?content__contains=error`);
    expect(errors.body.lines.map((l: { line: number }) => l.line)).to.deep.equal([1]);
    expect((await get(`/logs/${f.logid}/contents`)).body.logchunks[0]).to.not.have.property('timestamps');
  });

  it('serves changes with files, properties, sourcestamp; and the pushes extension', async () => {
    const r = await get(`/changes/${f.changeid}`);
    const c = r.body.changes[0];
    expect(c).to.include({ changeid: f.changeid, author: 'alice', comments: 'fix the thing', revision: 'abc123', branch: 'main', when_timestamp: 4900 });
    expect(c.files).to.deep.equal(['a.c', 'b.c']);
    expect(c.parent_changeids).to.deep.equal([]);
    expect(c.sourcestamp).to.include({ revision: 'abc123', branch: 'main', patch: null });
    expect((await get('/changes?order=-changeid&limit=10')).body.meta.total).to.equal(1);
    expect((await get(`/sourcestamps/${c.sourcestamp.ssid}/changes`)).body.changes[0].changeid).to.equal(f.changeid);
    const pushes = await get('/pushes?order=-pushid');
    expect(pushes.body.pushes[0]).to.include({ pushid: f.pushid, repository: 'https://example.org/repo.git', branch: 'main', author: 'alice', pushed_at: 5000, source: 'git' });
    expect(pushes.body.pushes[0].changeids).to.deep.equal([f.changeid]);
    expect((await get(`/pushes/${f.pushid}`)).body.pushes[0].builds.length).to.equal(5);
    expect((await get('/pushes?author=bob')).body).to.deep.equal({ pushes: [], meta: { total: 0 } });
  });

  it('serves workers with connections and configurations, under masters and builders', async () => {
    const w = { workerid: f.workerid, name: 'slave1', workerinfo: { os: 'linux' }, paused: false, graceful: false, connected_to: [{ masterid: f.masterid }], configured_on: [{ masterid: f.masterid, builderid: f.b1 }] };
    expect((await get('/workers')).body).to.deep.equal({ workers: [w], meta: { total: 1 } });
    expect((await get('/workers/slave1')).body.workers[0]).to.deep.equal(w);
    expect((await get(`/builders/${f.b1}/workers`)).body.meta.total).to.equal(1);
    expect((await get(`/builders/${f.b2}/workers`)).body.meta.total).to.equal(0);
    expect((await get(`/masters/${f.masterid}/builders/${f.b1}/workers/${f.workerid}`)).status).to.equal(200);
    expect((await get('/workers?paused=true')).body.workers).to.deep.equal([]);
  });

  it('serves masters, schedulers and change sources with their master', async () => {
    const master = { masterid: f.masterid, name: 'host:/masters/m1', active: true, last_active: 1000 };
    expect((await get('/masters')).body).to.deep.equal({ masters: [master], meta: { total: 1 } });
    expect((await get(`/builders/${f.b1}/masters/${f.masterid}`)).body.masters[0]).to.deep.equal(master);
    const sid = await findSchedulerId(db, 'nightly');
    await claimScheduler(db, sid, f.masterid);
    const free = await findSchedulerId(db, 'idle');
    expect((await get('/schedulers?order=schedulerid')).body.schedulers).to.deep.equal([
      { schedulerid: sid, name: 'nightly', enabled: true, master },
      { schedulerid: free, name: 'idle', enabled: true, master: null },
    ]);
    expect((await get(`/masters/${f.masterid}/schedulers`)).body.meta.total).to.equal(1);
    const cs = await findOrCreateChangesource(db, 'GitPoller:repo');
    await claimChangesource(db, cs, f.masterid, 0);
    expect((await get(`/changesources/${cs}`)).body.changesources[0]).to.deep.equal({ changesourceid: cs, name: 'GitPoller:repo', master });
  });

  it('serves test result sets and results', async () => {
    const sets = await get(`/builds/${f.buildids[1]}/test_result_sets`);
    expect(sets.body.test_result_sets[0]).to.deep.equal({
      test_result_setid: f.setid, builderid: f.b1, buildid: f.buildids[1], stepid: f.stepid, description: 'unit tests',
      category: 'pass_fail', value_unit: 'boolean', tests_passed: 1, tests_failed: 1, complete: true,
    });
    expect((await get('/builders/linux/test_result_sets')).body.meta.total).to.equal(1);
    expect((await get(`/test_result_sets/${f.setid}`)).body.test_result_sets[0].test_result_setid).to.equal(f.setid);
    const results = await get(`/test_result_sets/${f.setid}/results?value=1`);
    expect(results.body.test_results).to.have.length(1);
    expect(results.body.test_results[0]).to.include({ test_name: 'test_one', test_code_path: null, line: 12, duration_ns: 1500, value: '1' });
  });

  it('serves the root links, the spec and the force schedulers', async () => {
    const root = await get('');
    expect(root.body.rootlinks.map((l: { name: string }) => l.name)).to.deep.equal([
      'builders', 'builds', 'buildrequests', 'workers', 'logchunks', 'buildsets', 'changes', 'changesources', 'masters', 'sourcestamps', 'schedulers', 'forceschedulers',
    ]);
    const spec = await get('/application.spec');
    expect(spec.body.specs.map((s: { path: string }) => s.path)).to.include.members(['builds', 'builders/n:builderid/builds/n:number', 'logs/n:logid/raw', 'pushes']);
    const fs = await get('/forceschedulers');
    expect(fs.body.forceschedulers.map((s: { name: string }) => s.name)).to.deep.equal(['force']);
    expect((await get(`/builders/${f.b2}/forceschedulers`)).body.forceschedulers).to.deep.equal([]);
    expect((await get('/forceschedulers/force')).body.forceschedulers[0].builder_names).to.deep.equal(['linux']);
    expect((await get('/forceschedulers/nosuch')).status).to.equal(404);
  });
});
