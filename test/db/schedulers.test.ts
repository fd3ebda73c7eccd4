import { expect } from 'chai';
import { addBuildset } from '../../lib/db/buildsets.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { addChange } from '../../lib/db/changes.js';
import { nameHash } from '../../lib/db/hash.js';
import { findOrCreateMaster, markMasterActive } from '../../lib/db/masters.js';
import {
  claimScheduler,
  classifyChanges,
  findSchedulerId,
  flushChangeClassifications,
  getBuildsetsAfter,
  getChangeClassifications,
  getChangesAfter,
  getChangesByIds,
  getScheduler,
  getSchedulers,
  getWatchedBuildsets,
  holdsScheduler,
  maxBuildsetId,
  maxChangeId,
  releaseScheduler,
  removeMasterServiceClaims,
  setSchedulerEnabled,
} from '../../lib/db/schedulers.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db/schedulers', (h) => {
  it('finds or creates schedulers by name (enabled, Buildbot name_hash)', async () => {
    const db = await h.open();
    const id = await findSchedulerId(db, 'all');
    expect(await findSchedulerId(db, 'all')).to.equal(id);
    expect(await getScheduler(db, id)).to.deep.equal({ id, name: 'all', name_hash: nameHash('all'), enabled: 1, masterid: null });
    expect(nameHash('all')).to.match(/^[0-9a-f]{40}$/);
    await setSchedulerEnabled(db, id, false);
    expect(await getScheduler(db, id)).to.include({ enabled: 0 });
  });

  it('lets exactly one of many masters claim a scheduler (two connections), and only its holder release it', async () => {
    const db1 = await h.open();
    const db2 = await h.connect();
    const masters = [];
    for (let i = 0; i < 6; i++) masters.push(await findOrCreateMaster(db1, `host:/m${i}`));
    for (const m of masters) await markMasterActive(db1, m, 1000); // only an active master claims
    const sid = await findSchedulerId(db1, 'sched');
    const outcomes = await Promise.all(masters.map((m, i) => claimScheduler(i % 2 ? db1 : db2, sid, m)));
    const winners = outcomes.filter((o) => o.claimed);
    expect(winners).to.have.length(1);
    const owner = winners[0]!.owner!;
    for (const o of outcomes) expect(o.owner).to.equal(owner);
    expect(await claimScheduler(db1, sid, owner)).to.deep.equal({ claimed: true, owner });
    const loser = masters.find((m) => m !== owner)!;
    expect(await holdsScheduler(db1, sid, owner)).to.equal(true);
    expect(await holdsScheduler(db1, sid, loser)).to.equal(false);
    expect(await db1.transaction((t) => holdsScheduler(db1, sid, owner, t))).to.equal(true);
    await releaseScheduler(db1, sid, loser);
    expect((await getScheduler(db1, sid))!.masterid).to.equal(owner);
    expect((await getSchedulers(db1, { masterid: owner })).map((s) => s.name)).to.deep.equal(['sched']);
    await releaseScheduler(db1, sid, owner);
    expect((await getScheduler(db1, sid))!.masterid).to.equal(null);
    expect(await claimScheduler(db2, sid, loser)).to.deep.equal({ claimed: true, owner: loser });
  });

  it("removes a dead master's scheduler and change source claims", async () => {
    const db = await h.open();
    const dead = await findOrCreateMaster(db, 'host:/dead');
    const live = await findOrCreateMaster(db, 'host:/live');
    for (const m of [dead, live]) await markMasterActive(db, m, 1000);
    const s1 = await findSchedulerId(db, 's1');
    const s2 = await findSchedulerId(db, 's2');
    await claimScheduler(db, s1, dead);
    await claimScheduler(db, s2, live);
    await db.sequelize.query("INSERT INTO changesources (id, name, name_hash) VALUES (1, 'cs', 'x')");
    await db.sequelize.query('INSERT INTO changesource_masters (changesourceid, masterid) VALUES (1, ?)', { replacements: [dead] });
    expect(await removeMasterServiceClaims(db, dead)).to.deep.equal({ schedulers: 1, changesources: 1 });
    expect((await getSchedulers(db)).map((s) => [s.name, s.masterid])).to.deep.equal([['s1', null], ['s2', live]]);
  });

  it('classifies changes, lists them with their timer fields, and flushes by id or below a mark', async () => {
    const db = await h.open();
    const sid = await findSchedulerId(db, 's');
    const c1 = await addChange(db, { author: 'a', branch: 'main', revision: 'r1', repository: 'repo' });
    const c2 = await addChange(db, { author: 'a', branch: 'dev', revision: 'r2', repository: 'repo', codebase: 'cb', project: 'p' });
    const c3 = await addChange(db, { author: 'a', branch: null, revision: 'r3' });
    await db.transaction((t) => classifyChanges(db, sid, new Map([[c1, true], [c2, false], [c3, true]]), t));
    await classifyChanges(db, sid, new Map([[c2, true]]));
    expect(await getChangeClassifications(db, sid)).to.deep.equal([
      { changeid: c1, important: true, branch: 'main', repository: 'repo', codebase: '', project: '' },
      { changeid: c2, important: true, branch: 'dev', repository: 'repo', codebase: 'cb', project: 'p' },
      { changeid: c3, important: true, branch: null, repository: '', codebase: '', project: '' },
    ]);
    await flushChangeClassifications(db, sid, { changeids: [c2] });
    expect((await getChangeClassifications(db, sid)).map((c) => c.changeid)).to.deep.equal([c1, c3]);
    await flushChangeClassifications(db, sid, { lessThan: c3 });
    expect((await getChangeClassifications(db, sid)).map((c) => c.changeid)).to.deep.equal([c3]);
    await flushChangeClassifications(db, sid);
    expect(await getChangeClassifications(db, sid)).to.deep.equal([]);
  });

  it('reads changes after a mark with their files and properties', async () => {
    const db = await h.open();
    expect(await maxChangeId(db)).to.equal(0);
    const c1 = await addChange(db, { author: 'alice', comments: 'one', files: ['a.c', 'b.h'], properties: { ticket: 12 }, branch: 'main', revision: 'abc', when_timestamp: 1000 });
    const c2 = await addChange(db, { author: 'bob', branch: 'main', revision: 'def', when_timestamp: 1001 });
    expect(await maxChangeId(db)).to.equal(c2);
    const after = await getChangesAfter(db, 0, 10);
    expect(after.map((c) => c.changeid)).to.deep.equal([c1, c2]);
    expect(after[0]).to.deep.include({ author: 'alice', comments: 'one', branch: 'main', revision: 'abc', when_timestamp: 1000, properties: { ticket: [12, 'Change'] } });
    expect([...after[0]!.files].sort()).to.deep.equal(['a.c', 'b.h']);
    expect(after[1]).to.deep.include({ files: [], properties: {} });
    expect((await getChangesAfter(db, c1, 10)).map((c) => c.changeid)).to.deep.equal([c2]);
    expect((await getChangesAfter(db, 0, 1)).map((c) => c.changeid)).to.deep.equal([c1]);
    expect((await getChangesByIds(db, [c2, c1])).map((c) => c.changeid)).to.deep.equal([c1, c2]);
  });

  it('reads buildsets after a mark with the scheduler that made them, and their state and stamps', async () => {
    const db = await h.open();
    const b = await findOrCreateBuilder(db, 'b');
    expect(await maxBuildsetId(db)).to.equal(0);
    const one = await addBuildset(db, { sourcestamps: [{ codebase: '', revision: 'r1' }], reason: 'x', properties: { scheduler: ['up', 'Scheduler'] }, builderids: [b] });
    const two = await addBuildset(db, { sourcestamps: [{ codebase: 'a' }, { codebase: 'b' }], reason: 'y', properties: {}, builderids: [] });
    expect(await getBuildsetsAfter(db, 0, 10)).to.deep.equal([{ id: one.bsid, scheduler: 'up' }, { id: two.bsid, scheduler: null }]);
    expect(await getBuildsetsAfter(db, one.bsid, 10)).to.deep.equal([{ id: two.bsid, scheduler: null }]);
    const watched = await getWatchedBuildsets(db, [two.bsid, one.bsid, 9999]);
    expect(watched.map((w) => [w.id, w.scheduler, w.complete, w.results, w.ssids.length])).to.deep.equal([
      [one.bsid, 'up', false, -1, 1],
      [two.bsid, null, false, -1, 2],
    ]);
  });
});
