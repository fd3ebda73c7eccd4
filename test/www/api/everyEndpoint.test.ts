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

  /** Field kinds a filter compares and an order sorts. */
  const COMPARABLE = new Set(['integer', 'datetime', 'string', 'identifier', 'boolean']);
  /** Extension collections whose field-named parameters mean something else (they restrict counts). */
  const OWN_PARAMS = new Set(['/signatures', '/signature_counts', '/signatures/n:signatureid/counts']);

  it('filters (eq, ne, lt/gt), orders and pages every collection on its fields; a bad filter value is 400 saying why', async () => {
    let checked = 0;
    for (const { text, endpoint } of createApi().paths()) {
      if (endpoint.kind !== 'collection' || EMPTY_OK.has(text) || NO_DATA.test(text) || OWN_PARAMS.has(text) || text === '/') continue;
      const base = REQUIRED[text] ? `${fill(text)}?${REQUIRED[text]}` : fill(text);
      const all = await get(base);
      expect(all.status, base).to.equal(200);
      const plural = endpoint.type.plural;
      const items = all.body[plural] as Record<string, unknown>[];
      if (items.length === 0) continue;
      const fields = Object.entries(endpoint.type.fields).filter(([name, f]) => COMPARABLE.has(f.kind) && items.some((i) => i[name] !== null && i[name] !== undefined));
      const intField = fields.find(([, f]) => f.kind === 'integer' || f.kind === 'datetime');
      const [name, field] = intField ?? fields[0]!;
      const value = items.find((i) => i[name] !== null && i[name] !== undefined)![name];
      const q = (query: string) => get(withQuery(base, query));

      const eq = await q(`${name}=${String(value)}`);
      expect(eq.status, `${base} ${name}=`).to.equal(200);
      expect(eq.body[plural].length, `${base} ${name}=${String(value)}`).to.be.greaterThan(0);
      for (const i of eq.body[plural]) expect(i[name], `${base} ${name}=${String(value)}`).to.equal(value);
      const ne = await q(`${name}__ne=${String(value)}`);
      expect(ne.status, `${base} ${name}__ne`).to.equal(200);
      for (const i of ne.body[plural]) expect(i[name], `${base} ${name}__ne=${String(value)}`).to.not.equal(value);
      expect(eq.body[plural].length + ne.body[plural].length, `${base} eq + ne`).to.be.at.most(items.length);

      if (intField) {
        const v = value as number;
        const lt = await q(`${name}__lt=${v}`);
        const ge = await q(`${name}__ge=${v}`);
        for (const i of lt.body[plural]) expect(i[name] as number, `${base} ${name}__lt`).to.be.below(v);
        for (const i of ge.body[plural]) expect(i[name] as number, `${base} ${name}__ge`).to.be.at.least(v);
        for (const dir of ['', '-']) {
          const sorted = await q(`order=${dir}${name}`);
          expect(sorted.status, `${base} order=${dir}${name}`).to.equal(200);
          const got = (sorted.body[plural] as Record<string, unknown>[]).map((i) => i[name]).filter((x): x is number => typeof x === 'number');
          const want = [...got].sort((a, b) => (dir ? b - a : a - b));
          expect(got, `${base} order=${dir}${name}`).to.deep.equal(want);
        }
        const bad = await q(`${name}__gt=abc`);
        expect(bad.status, `${base} ${name}__gt=abc`).to.equal(400);
        expect(bad.body.error, base).to.include(name).and.include("'abc' is not an integer");
      }

      const page = await q('limit=1&offset=0');
      expect(page.status, `${base} limit=1`).to.equal(200);
      expect(page.body[plural], `${base} limit=1`).to.have.length(1);
      const past = await q(`offset=${items.length}`);
      expect(past.body[plural], `${base} offset=${items.length}`).to.deep.equal([]);
      if (items.length > 1) {
        const second = await q('limit=1&offset=1');
        expect(second.body[plural], `${base} limit=1&offset=1`).to.have.length(1);
        expect(second.body[plural][0], `${base} pages differ`).to.not.deep.equal(page.body[plural][0]);
      }
      const badOp = await q(`${name}__like=x`);
      expect(badOp.status, `${base} ${name}__like`).to.equal(400);
      checked++;
    }
    expect(checked).to.be.greaterThan(40);
  });
});
