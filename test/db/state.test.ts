import { expect } from 'chai';
import { deleteState, getAllState, getObjectId, getState, initState, setState } from '../../lib/db/state.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db/state', (h) => {
  it('finds or creates objects by (name, class_name)', async () => {
    const db = await h.open();
    const a = await getObjectId(db, 'nightly', 'Nightly');
    expect(await getObjectId(db, 'nightly', 'Nightly')).to.equal(a);
    const b = await getObjectId(db, 'nightly', 'buildbot.schedulers.timed.Nightly');
    expect(b).to.not.equal(a);
  });

  it('stores JSON values per (object, name), as Buildbot', async () => {
    const db = await h.open();
    const id = await getObjectId(db, 'p', 'Periodic');
    expect(await getState(db, id, 'last_build', null)).to.equal(null);
    await setState(db, id, 'last_build', 1700000000.5);
    await setState(db, id, 'lastTrigger', [[{ codebase: '' }], { a: [1, 'Trigger'] }, 7, 'Triggered from']);
    expect(await getState(db, id, 'last_build', null)).to.equal(1700000000.5);
    await setState(db, id, 'last_build', 1700003600);
    expect(await getAllState(db, id)).to.deep.equal({ last_build: 1700003600, lastTrigger: [[{ codebase: '' }], { a: [1, 'Trigger'] }, 7, 'Triggered from'] });
    const [rows] = await db.sequelize.query('SELECT value_json FROM object_state WHERE name = ?', { replacements: ['last_build'] });
    expect(rows).to.deep.equal([{ value_json: '1700003600' }]);
    await deleteState(db, id, 'lastTrigger');
    expect(await getState(db, id, 'lastTrigger', 'gone')).to.equal('gone');
  });

  it('initState keeps the first value when several write it at once (two connections)', async () => {
    const db1 = await h.open();
    const db2 = await h.connect();
    const id = await getObjectId(db1, 's', 'SingleBranchScheduler');
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => initState(i % 2 ? db1 : db2, id, 'lastChangeId', i)));
    expect(new Set(got).size).to.equal(1);
    expect(await getState(db1, id, 'lastChangeId', -1)).to.equal(got[0]);
  });

  it('setState from two connections leaves one row', async () => {
    const db1 = await h.open();
    const db2 = await h.connect();
    const id = await getObjectId(db1, 's', 'X');
    await Promise.all(Array.from({ length: 8 }, (_, i) => setState(i % 2 ? db1 : db2, id, 'v', i)));
    const [rows] = await db1.sequelize.query('SELECT COUNT(*) AS n FROM object_state WHERE objectid = ?', { replacements: [id] });
    expect(Number((rows as { n: number }[])[0]!.n)).to.equal(1);
  });
});
