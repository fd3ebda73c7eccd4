import { expect } from 'chai';
import { claimRequests, completeRequests, getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { addBuildset, getBuildset, getBuildsetProperties, getBuildsetSourcestamps, maybeCompleteBuildset } from '../../lib/db/buildsets.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { findOrCreateSourcestamp } from '../../lib/db/sourcestamps.js';
import { CANCELLED, FAILURE, SKIPPED, SUCCESS, WARNINGS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { seed } from './dataSeed.js';

forEachDialect('db/buildsets', (h) => {
  it('adds a buildset with properties, sourcestamps and one pending request per builder', async () => {
    const db = await h.open();
    const s = await seed(db);
    const b2 = await findOrCreateBuilder(db, 'second');
    const ssid = await findOrCreateSourcestamp(db, { branch: 'main', revision: 'abc', repository: 'https://x/r.git', codebase: 'cb' });
    const { bsid, brids } = await addBuildset(db, {
      sourcestamps: [ssid, { branch: 'dev', codebase: 'other' }, ssid],
      reason: 'forced by ünïcode',
      properties: { scheduler: ['force', 'Scheduler'], n: [3, 'Force'], obj: [{ a: [1, null] }, 'Force'] },
      builderids: [s.builderid, b2, s.builderid],
      external_idstring: 'ext-1',
      waited_for: true,
      submitted_at: 1234,
    });
    expect(Object.keys(brids).map(Number).sort((a, b) => a - b)).to.deep.equal([s.builderid, b2].sort((a, b) => a - b));

    expect(await getBuildset(db, bsid)).to.deep.equal({
      id: bsid, external_idstring: 'ext-1', reason: 'forced by ünïcode', submitted_at: 1234, complete: 0,
      complete_at: null, results: -1, parent_buildid: null, parent_relationship: null,
    });
    expect(await getBuildsetProperties(db, bsid)).to.deep.equal({ scheduler: ['force', 'Scheduler'], n: [3, 'Force'], obj: [{ a: [1, null] }, 'Force'] });
    const stamps = await getBuildsetSourcestamps(db, bsid);
    expect(stamps.map((x) => [x.branch, x.revision, x.repository, x.codebase, x.project, x.patch])).to.deep.equal([
      ['main', 'abc', 'https://x/r.git', 'cb', '', null],
      ['dev', null, '', 'other', '', null],
    ]);
    expect(stamps[0]!.id).to.equal(ssid);

    const requests = await getRequestsOfBuildset(db, bsid);
    expect(requests).to.have.length(2);
    for (const r of requests) {
      expect(r).to.include({ buildsetid: bsid, priority: 0, complete: 0, results: -1, submitted_at: 1234, complete_at: null, waited_for: 1 });
      expect(brids[r.builderid]).to.equal(r.id);
    }
  });

  it('is atomic: a part failing after the buildset row was written leaves no buildset behind', async () => {
    const db = await h.open();
    const s = await seed(db);
    // A BigInt cannot be turned into JSON: the properties fail after the buildsets INSERT ran.
    const bad = addBuildset(db, { sourcestamps: [{}], reason: 'r', properties: { p: [1n as unknown, 'x'] }, builderids: [s.builderid] });
    await bad.then(() => expect.fail('expected a failure'), (err: Error) => expect(err).to.be.instanceOf(TypeError));
    for (const table of ['buildsets', 'buildrequests', 'buildset_sourcestamps']) {
      const [rows] = await db.sequelize.query(`SELECT COUNT(*) AS n FROM ${table}`);
      expect(Number((rows as { n: number }[])[0]!.n), table).to.equal(0);
    }
  });

  it('completes a buildset with the worst result once all its requests are complete, exactly once', async () => {
    const db = await h.open();
    const s = await seed(db);
    const b2 = await findOrCreateBuilder(db, 'second');
    const b3 = await findOrCreateBuilder(db, 'third');
    const { bsid, brids } = await addBuildset(db, { sourcestamps: [], reason: 'r', properties: {}, builderids: [s.builderid, b2, b3] });
    await claimRequests(db, Object.values(brids), s.masterid, 100);
    await completeRequests(db, [brids[s.builderid]!], SKIPPED, 101, s.masterid);
    await completeRequests(db, [brids[b2]!], WARNINGS, 101, s.masterid);
    expect(await maybeCompleteBuildset(db, bsid, 102)).to.deep.equal({ completed: false });
    expect(await getBuildset(db, bsid)).to.include({ complete: 0, results: -1 });
    await completeRequests(db, [brids[b3]!], SUCCESS, 103, s.masterid);
    expect(await maybeCompleteBuildset(db, bsid, 104)).to.deep.equal({ completed: true, results: WARNINGS });
    expect(await maybeCompleteBuildset(db, bsid, 105)).to.deep.equal({ completed: false });
    expect(await getBuildset(db, bsid)).to.include({ complete: 1, complete_at: 104, results: WARNINGS });
  });

  it('ranks results as Buildbot does: all SKIPPED is SUCCESS; CANCELLED beats FAILURE; no builders completes at once', async () => {
    const db = await h.open();
    const s = await seed(db);
    const b2 = await findOrCreateBuilder(db, 'second');
    const run = async (results: number[]) => {
      const builders = [s.builderid, b2].slice(0, results.length);
      const { bsid, brids } = await addBuildset(db, { sourcestamps: [], reason: 'r', properties: {}, builderids: builders });
      await claimRequests(db, Object.values(brids), s.masterid, 1);
      for (let i = 0; i < results.length; i++) await completeRequests(db, [brids[builders[i]!]!], results[i]!, 2, s.masterid);
      return maybeCompleteBuildset(db, bsid, 3);
    };
    expect(await run([SKIPPED, SKIPPED])).to.deep.equal({ completed: true, results: SUCCESS });
    expect(await run([FAILURE, CANCELLED])).to.deep.equal({ completed: true, results: CANCELLED });
    expect(await run([])).to.deep.equal({ completed: true, results: SUCCESS });
  });

  it('lets exactly one of several concurrent completers (two connections) complete it', async () => {
    const db1 = await h.open();
    const db2 = await h.connect();
    const s = await seed(db1);
    const m2 = await findOrCreateMaster(db1, 'host:/second');
    const b2 = await findOrCreateBuilder(db1, 'second');
    const { bsid, brids } = await addBuildset(db1, { sourcestamps: [], reason: 'r', properties: {}, builderids: [s.builderid, b2] });
    await claimRequests(db1, [brids[s.builderid]!], s.masterid, 1);
    await claimRequests(db2, [brids[b2]!], m2, 1);
    await Promise.all([
      completeRequests(db1, [brids[s.builderid]!], SUCCESS, 2, s.masterid),
      completeRequests(db2, [brids[b2]!], FAILURE, 2, m2),
    ]);
    const outcomes = await Promise.all([1, 2, 3, 4].map((i) => maybeCompleteBuildset(i % 2 ? db1 : db2, bsid, 10 + i)));
    expect(outcomes.filter((o) => o.completed)).to.deep.equal([{ completed: true, results: FAILURE }]);
  });
});
