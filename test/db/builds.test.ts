import { expect } from 'chai';
import {
  addBuild,
  finishBuild,
  getBuild,
  getBuildProperties,
  getBuildsForRequest,
  getUnfinishedBuilds,
  setBuildProperties,
  setBuildStateString,
} from '../../lib/db/builds.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { addRequests, seed } from './dataSeed.js';

forEachDialect('db/builds', (h) => {
  it('numbers builds per builder from 1 and stores the row as given', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateBuilder(db, 'other');
    const [brid] = await addRequests(db, s.builderid, 1);
    const args = { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, masterid: s.masterid, state_string: 'starting', started_at: 500 };
    const first = await addBuild(db, args);
    const second = await addBuild(db, args);
    const elsewhere = await addBuild(db, { ...args, builderid: other, workerid: null });
    expect([first.number, second.number, elsewhere.number]).to.deep.equal([1, 2, 1]);
    expect(await getBuild(db, first.buildid)).to.deep.equal({
      id: first.buildid, number: 1, builderid: s.builderid, buildrequestid: brid, workerid: s.workerid, masterid: s.masterid,
      started_at: 500, complete_at: null, state_string: 'starting', results: null,
    });
    expect((await getBuildsForRequest(db, brid!)).map((b) => b.id)).to.deep.equal([first.buildid, second.buildid, elsewhere.buildid]);
    expect(await getBuild(db, 999_999)).to.equal(undefined);
  });

  it('sets the state string and finishes a build; unfinished builds are listed per master', async () => {
    const db = await h.open();
    const s = await seed(db);
    const m2 = await findOrCreateMaster(db, 'host:/second');
    const [brid] = await addRequests(db, s.builderid, 1);
    const base = { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, state_string: 'starting', started_at: 500 };
    const a = await addBuild(db, { ...base, masterid: s.masterid });
    const b = await addBuild(db, { ...base, masterid: s.masterid });
    const c = await addBuild(db, { ...base, masterid: m2 });
    await setBuildStateString(db, a.buildid, 'building');
    await finishBuild(db, b.buildid, FAILURE, 600);
    expect(await getBuild(db, a.buildid)).to.include({ state_string: 'building', complete_at: null, results: null });
    expect(await getBuild(db, b.buildid)).to.include({ complete_at: 600, results: FAILURE });
    expect((await getUnfinishedBuilds(db, s.masterid)).map((x) => x.id)).to.deep.equal([a.buildid]);
    expect((await getUnfinishedBuilds(db, m2)).map((x) => x.id)).to.deep.equal([c.buildid]);
  });

  it('stores properties as Buildbot does (value JSON, source column), updating changed ones only', async () => {
    const db = await h.open();
    const s = await seed(db);
    const [brid] = await addRequests(db, s.builderid, 1);
    const { buildid } = await addBuild(db, { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, masterid: s.masterid, state_string: 's', started_at: 1 });
    await setBuildProperties(db, buildid, { branch: ['main', 'Build'], n: [1, 'Step'], none: [null, 'x'] });
    await setBuildProperties(db, buildid, { n: [2, 'Step'], branch: ['main', 'Build'], list: [['a', { b: 'ü' }], 'Worker'] });
    await setBuildProperties(db, buildid, {});
    expect(await getBuildProperties(db, buildid)).to.deep.equal({
      branch: ['main', 'Build'], n: [2, 'Step'], none: [null, 'x'], list: [['a', { b: 'ü' }], 'Worker'],
    });
    const [rows] = await db.sequelize.query('SELECT name, value, source FROM build_properties WHERE buildid = ? ORDER BY name', { replacements: [buildid] });
    expect(rows).to.deep.equal([
      { name: 'branch', value: '"main"', source: 'Build' },
      { name: 'list', value: '["a",{"b":"ü"}]', source: 'Worker' },
      { name: 'n', value: '2', source: 'Step' },
      { name: 'none', value: 'null', source: 'x' },
    ]);
  });

  it('gives distinct consecutive numbers to builds started concurrently from two connections', async function () {
    this.timeout(60_000);
    const db1 = await h.open();
    const db2 = await h.connect();
    const s = await seed(db1);
    const [brid] = await addRequests(db1, s.builderid, 1);
    const args = { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, masterid: s.masterid, state_string: 's', started_at: 1 };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => addBuild(i % 2 ? db1 : db2, args)));
    const numbers = results.map((r) => r.number).sort((a, b) => a - b);
    expect(numbers).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
    for (const r of results) expect(await getBuild(db1, r.buildid)).to.include({ number: r.number });
  });

  it('numbers correctly inside a caller\'s transaction', async () => {
    const db = await h.open();
    const s = await seed(db);
    const [brid] = await addRequests(db, s.builderid, 1);
    const args = { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, masterid: s.masterid, state_string: 's', started_at: 1 };
    await addBuild(db, args);
    const numbers = await db.transaction(async (t) => [(await addBuild(db, args, t)).number, (await addBuild(db, args, t)).number]);
    expect(numbers).to.deep.equal([2, 3]);
    await finishBuild(db, 1, SUCCESS);
  });
});
