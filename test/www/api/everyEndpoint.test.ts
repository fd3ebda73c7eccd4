import { expect } from 'chai';
import type { Database } from '../../../lib/db/connection.js';
import { claimScheduler, findSchedulerId } from '../../../lib/db/schedulers.js';
import { createApi } from '../../../lib/www/api/index.js';
import type { WwwServer } from '../../../lib/www/app.js';
import { forEachDialect } from '../../support/databases.js';
import { seedFixture, startApi, type Fixture } from './apiFixture.js';

/**
 * Walks every registered path: each answers 200 in Buildbot's envelope for the fixture's rows,
 * honours `field=`, refuses an unknown parameter with 400, and answers 404 for a missing id.
 */
forEachDialect('data API: every endpoint', (h) => {
  let db: Database;
  let server: WwwServer | undefined;
  let f: Fixture;
  let get: Awaited<ReturnType<typeof startApi>>['get'];
  let schedulerid: number;

  beforeEach(async () => {
    db = await h.open();
    f = await seedFixture(db);
    schedulerid = await findSchedulerId(db, 'force');
    await claimScheduler(db, schedulerid, f.masterid);
    ({ server, get } = await startApi(db));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  function fill(pattern: string, missing = false): string {
    const values: Record<string, string | number> = {
      builderid: f.b1, buildername: 'linux', number: 2, build_number: 2, buildid: f.buildids[1], stepid: f.stepid, step_number: 0,
      step_name: 'compile', log_slug: 'stdio', logid: f.logid, masterid: f.masterid, workerid: f.workerid, name: 'slave1',
      buildrequestid: 1, bsid: f.bsid, changeid: f.changeid, ssid: 1, schedulerid, changesourceid: 1, test_result_setid: f.setid,
      pushid: f.pushid, signatureid: 1, known_issueid: 1, schedulername: 'force',
    };
    let last = '';
    const path = pattern.replace(/(?:[ni]?):([a-z_]+)/g, (_m, arg: string) => {
      last = arg;
      return String(values[arg]);
    });
    if (!missing) return path;
    // The last argument made to point at nothing.
    return path.replace(new RegExp(`${String(values[last]).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!.*${String(values[last])})`), typeof values[last] === 'number' ? '987654' : 'nosuch');
  }

  // Served by other rows than the fixture has, or not at all for it.
  const EMPTY_OK = new Set(['/changesources/n:changesourceid', '/masters/n:masterid/changesources/n:changesourceid', '/signatures/n:signatureid', '/known_issues/n:known_issueid']);
  const NO_DATA = /\/data\/i:name/;
  /** Parameters an endpoint requires. */
  const REQUIRED: Record<string, string> = {
    '/trends/step_durations': 'step_name=compile',
    '/test_history': 'name=t',
    '/builders/n:builderid/test_history': 'name=t',
  };
  const withQuery = (path: string, q: string) => (path.includes('?') ? `${path}&${q}` : `${path}?${q}`);

  it('answers every path in the envelope, with field selection, 400 on a bad parameter and 404 on a missing id', async () => {
    let checked = 0;
    for (const { text, endpoint } of createApi().paths()) {
      if (EMPTY_OK.has(text) || NO_DATA.test(text) || text === '/') continue;
      const path = REQUIRED[text] ? `${fill(text)}?${REQUIRED[text]}` : fill(text);
      const r = await get(path);
      expect(r.status, `${text} → ${path}: ${r.text.slice(0, 200)}`).to.equal(200);
      if (endpoint.kind === 'raw') continue;
      const plural = endpoint.type.plural;
      expect(r.body, path).to.have.property(plural).that.is.an('array');
      if (endpoint.kind === 'collection') expect(r.body.meta.total, path).to.be.a('number');
      else expect(r.body.meta, path).to.deep.equal({});
      const first = Object.keys(endpoint.type.fields)[0];
      if (first) {
        const sel = await get(withQuery(path, `field=${first}`));
        expect(sel.status, path).to.equal(200);
        for (const item of sel.body[plural]) expect(Object.keys(item), path).to.deep.equal(Object.keys(item).length ? [first] : []);
      }
      const bad = await get(withQuery(path, 'bogus=1'));
      expect(bad.status, path).to.equal(400);
      expect(bad.body.error, path).to.equal("unrecognized query parameter 'bogus'");
      if (endpoint.kind === 'item' && /:[a-z_]+$/.test(text)) {
        const missing = fill(text, true);
        expect((await get(missing)).status, missing).to.equal(404);
      }
      checked++;
    }
    expect(checked).to.be.greaterThan(100);
  });
});
