import { expect } from 'chai';
import type { Database } from '../../../lib/db/connection.js';
import type { WwwServer } from '../../../lib/www/app.js';
import { forEachDialect } from '../../support/databases.js';
import { seedFixture, startApi, type Fixture } from './apiFixture.js';

forEachDialect('data API: builds, builders, buildrequests, buildsets', (h) => {
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

  it('lists builds in Buildbot envelope and field shape, with meta.total', async () => {
    const r = await get('/builds');
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^application\/json/);
    expect(r.body.meta).to.deep.equal({ total: 6 });
    expect(r.body.builds[0]).to.deep.equal({
      buildid: f.buildids[0],
      number: 1,
      builderid: f.b1,
      buildrequestid: r.body.builds[0].buildrequestid,
      workerid: f.workerid,
      masterid: f.masterid,
      started_at: 3000,
      complete: true,
      complete_at: 3005,
      results: 0,
      state_string: 'build successful',
      properties: {},
    });
    // Keys are sorted, as Buildbot's json.dumps(sort_keys=True).
    expect(r.text.indexOf('"builderid"')).to.be.lessThan(r.text.indexOf('"buildid"'));
    const running = r.body.builds.find((b: { buildid: number }) => b.buildid === f.buildids[4]);
    expect(running).to.include({ complete: false, complete_at: null, results: null });
  });

  it('filters with every operator, typed per field', async () => {
    const ids = async (q: string) => ((await get(`/builds?${q}`)).body.builds as { buildid: number }[]).map((b) => b.buildid);
    const [a, b, c, d, e, w] = f.buildids;
    expect(await ids('results=2')).to.deep.equal([b, d]);
    expect(await ids('results__eq=2')).to.deep.equal([b, d]);
    expect(await ids('results__ne=2')).to.deep.equal([a, c]);
    expect(await ids(`buildid__lt=${c}`)).to.deep.equal([a, b]);
    expect(await ids(`buildid__le=${c}`)).to.deep.equal([a, b, c]);
    expect(await ids(`buildid__gt=${d}`)).to.deep.equal([e, w]);
    expect(await ids(`buildid__ge=${d}`)).to.deep.equal([d, e, w]);
    expect(await ids('state_string__contains=fail')).to.deep.equal([b, d]);
    expect(await ids('results__in=0&results__in=2')).to.deep.equal([a, b, c, d]);
    expect(await ids('results=0&results=2')).to.deep.equal([a, b, c, d]);
    expect(await ids('results__notin=0&results__notin=1')).to.deep.equal([b, d]);
    expect(await ids('complete=false')).to.deep.equal([e, w]);
    expect(await ids('complete=yes&builderid=' + f.b1)).to.deep.equal([a, b, c, d]);
    expect(await ids('complete__ne=on')).to.deep.equal([e, w]);
  });

  it('orders on several fields, pages with limit/offset, and counts the total before paging', async () => {
    const r = await get('/builds?order=-results&order=buildid&limit=3&offset=1');
    expect(r.body.builds.map((x: { buildid: number }) => x.buildid)).to.deep.equal([f.buildids[3], f.buildids[0], f.buildids[2]]);
    expect(r.body.meta.total).to.equal(6);
    const newest = await get('/builds?order=-buildid&limit=2');
    expect(newest.body.builds.map((x: { buildid: number }) => x.buildid)).to.deep.equal([f.buildids[5], f.buildids[4]]);
    expect(newest.body.meta.total).to.equal(6);
    const past = await get('/builds?offset=10&limit=5');
    expect(past.body).to.deep.equal({ builds: [], meta: { total: 6 } });
    const filtered = await get('/builds?results=2&limit=1');
    expect(filtered.body.meta.total).to.equal(2);
  });

  it('selects fields, and refuses to filter or order on fields not selected', async () => {
    const r = await get('/builds?field=buildid&field=results&limit=1');
    expect(r.body.builds).to.deep.equal([{ buildid: f.buildids[0], results: 0 }]);
    const bad = await get('/builds?field=buildid&results=2');
    expect(bad.status).to.equal(400);
    expect(bad.body).to.deep.equal({ error: 'cannot filter on un-selected fields' });
    expect((await get('/builds?field=buildid&order=-number')).body.error).to.equal('cannot order on un-selected fields');
  });

  it('answers 400 naming the bad parameter and why', async () => {
    const cases: [string, string][] = [
      ['/builds?bogus=1', "unrecognized query parameter 'bogus'"],
      ['/builds?results=abc', "invalid filter value for results: 'abc' is not an integer"],
      ['/builds?complete=maybe', 'invalid filter value for complete'],
      ['/builds?nosuch__gt=1', "unrecognized query parameter 'nosuch__gt': no such field 'nosuch'"],
      ['/builds?buildid__near=1', "unrecognized query parameter 'buildid__near': no operator 'near'"],
      ['/builds?buildid__lt=1&buildid__lt=2', "'lt' takes one value"],
      ['/builds?order=nosuch', "no such field 'nosuch'"],
      ['/builds?field=nosuch', "no such field 'nosuch'"],
      ['/builds?limit=x', 'invalid limit'],
      ['/builds?offset=-1', 'invalid offset'],
      [`/builds/${f.buildids[0]}?results=1`, 'this is not a collection'],
    ];
    for (const [path, message] of cases) {
      const r = await get(path);
      expect(r.status, path).to.equal(400);
      expect(r.body.error, path).to.include(message);
    }
  });

  it('serves one build by id and by builder id or name and number; 404 otherwise', async () => {
    for (const path of [`/builds/${f.buildids[1]}`, `/builders/${f.b1}/builds/2`, '/builders/linux/builds/2']) {
      const r = await get(path);
      expect(r.status, path).to.equal(200);
      expect(r.body.meta, path).to.deep.equal({});
      expect(r.body.builds, path).to.have.length(1);
      expect(r.body.builds[0].buildid, path).to.equal(f.buildids[1]);
    }
    for (const path of ['/builds/99999', `/builders/${f.b1}/builds/77`, '/builders/nosuch/builds/1']) {
      const r = await get(path);
      expect(r.status, path).to.equal(404);
      expect(r.body.error, path).to.match(/^not found/);
    }
    const invalid = await get('/builds/abc/nothing');
    expect(invalid.status).to.equal(404);
    expect(invalid.body).to.deep.equal({ error: 'Invalid path: builds/abc/nothing' });
  });

  it('nests builds under builders, requests, workers and changes', async () => {
    const byBuilder = await get(`/builders/${f.b2}/builds`);
    expect(byBuilder.body.builds.map((b: { buildid: number }) => b.buildid)).to.deep.equal([f.buildids[5]]);
    expect((await get('/builders/linux/builds?limit=2')).body).to.deep.include({ meta: { total: 5 } });
    expect((await get('/builders/nosuch/builds')).body).to.deep.equal({ builds: [], meta: { total: 0 } });
    const first = (await get(`/builds/${f.buildids[0]}`)).body.builds[0];
    expect((await get(`/buildrequests/${first.buildrequestid}/builds`)).body.builds).to.have.length(1);
    expect((await get(`/workers/${f.workerid}/builds`)).body.meta.total).to.equal(5);
    expect((await get(`/changes/${f.changeid}/builds`)).body.meta.total).to.equal(5);
  });

  it('adds properties with property= (one, several, or *)', async () => {
    const one = await get(`/builds/${f.buildids[0]}?property=branch`);
    expect(one.body.builds[0].properties).to.deep.equal({ branch: ['main', 'Build'] });
    const all = await get(`/builds?property=*&builderid=${f.b1}&limit=1`);
    expect(all.body.builds[0].properties).to.deep.equal({ buildername: ['linux', 'Builder'], buildnumber: [1, 'Build'], branch: ['main', 'Build'] });
    const none = await get(`/builds?property=nosuch&limit=1`);
    expect(none.body.builds[0].properties).to.deep.equal({});
    const props = await get(`/builds/${f.buildids[0]}/properties`);
    expect(props.body).to.deep.equal({ properties: [{ buildername: ['linux', 'Builder'], buildnumber: [1, 'Build'], branch: ['main', 'Build'] }], meta: {} });
    const list = await get(`/builds/${f.buildids[0]}/property_list?order=name`);
    expect(list.body._properties[0]).to.deep.equal({ name: 'branch', source: 'Build', value: '"main"' });
  });

  it('serves builders with masterids and tags, by id, name and master', async () => {
    const r = await get('/builders');
    expect(r.body.builders[0]).to.deep.equal({ builderid: f.b1, name: 'linux', masterids: [f.masterid], description: 'Linux builds', tags: ['os', 'fast'] });
    expect(r.body.meta.total).to.equal(2);
    expect((await get('/builders/windows')).body.builders[0].builderid).to.equal(f.b2);
    expect((await get(`/masters/${f.masterid}/builders`)).body.meta.total).to.equal(2);
    expect((await get(`/masters/999/builders/${f.b1}`)).status).to.equal(404);
    expect((await get('/builders?tags__contains=fast')).body.builders.map((b: { name: string }) => b.name)).to.deep.equal(['linux']);
    expect((await get('/builders?name__contains=win')).body.builders.map((b: { name: string }) => b.name)).to.deep.equal(['windows']);
  });

  it('serves build requests and buildsets with their claims, properties and sourcestamps', async () => {
    const brs = await get(`/builders/${f.b1}/buildrequests?order=-buildrequestid&limit=1&property=owner`);
    expect(brs.body.meta.total).to.equal(5);
    const br = brs.body.buildrequests[0];
    expect(br).to.include({ builderid: f.b1, claimed: false, claimed_at: null, complete: false, results: -1, waited_for: false, priority: 0 });
    expect(br.properties).to.deep.equal({ owner: ['user4', 'Force'] });
    expect((await get(`/buildrequests/${br.buildrequestid}`)).body.buildrequests[0].properties).to.equal(null);
    expect((await get('/buildrequests?claimed=true')).body.buildrequests).to.deep.equal([]);
    const bs = await get(`/buildsets/${f.bsid}`);
    const set = bs.body.buildsets[0];
    expect(set).to.include({ bsid: f.bsid, reason: 'reason 4', complete: false, results: -1, submitted_at: 2004, parent_buildid: null });
    expect(set.sourcestamps).to.have.length(1);
    expect(set.sourcestamps[0]).to.include({ branch: 'main', revision: 'abc123', repository: 'https://example.org/repo.git', patch: null });
    expect((await get('/buildsets?reason__contains=reason&limit=2')).body.meta.total).to.equal(5);
    expect((await get(`/buildsets/${f.bsid}/properties`)).body.properties[0]).to.deep.equal({ owner: ['user4', 'Force'] });
    expect((await get('/buildsets/99999')).status).to.equal(404);
  });

  it('answers HEAD, indented text/plain without Accept JSON, and /api/latest', async () => {
    const base = `http://127.0.0.1:${server!.port}`;
    const plain = await fetch(`${base}/api/v2/masters`);
    expect(plain.headers.get('content-type')).to.match(/^text\/plain/);
    expect(await plain.text()).to.include('\n  "masters": [');
    const head = await fetch(`${base}/api/latest/masters`, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(await head.text()).to.equal('');
  });
});
