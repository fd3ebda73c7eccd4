import { expect } from 'chai';
import { findOrCreateMaster, getExpiredMasters, getMaster, getMasters, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db/masters', (h) => {
  it('finds or creates a master by name (inactive when new), with Buildbot\'s name_hash', async () => {
    const db = await h.open();
    const id = await findOrCreateMaster(db, 'host:/masters/m', 1000);
    expect(await findOrCreateMaster(db, 'host:/masters/m', 2000)).to.equal(id);
    expect(await getMaster(db, id)).to.deep.equal({
      id, name: 'host:/masters/m', name_hash: '7652006a57511f83eb51a1f725fb62274259dcde', active: 0, last_active: 1000,
    });
    expect(await getMaster(db, id + 100)).to.equal(undefined);
  });

  it('creates one row when several masters find-or-create the same name at once (two connections)', async () => {
    const db1 = await h.open();
    const db2 = await h.connect();
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => findOrCreateMaster(i % 2 ? db1 : db2, 'host:/same', 1)));
    expect(new Set(ids).size).to.equal(1);
    expect(await getMasters(db1)).to.have.length(1);
  });

  it('marks active with a heartbeat and inactive once, dropping its scheduler_masters rows', async () => {
    const db = await h.open();
    const a = await findOrCreateMaster(db, 'host:/a', 1);
    const b = await findOrCreateMaster(db, 'host:/b', 1);
    await markMasterActive(db, a, 500);
    await markMasterActive(db, b, 900);
    expect(await getMaster(db, a)).to.include({ active: 1, last_active: 500 });
    expect((await getExpiredMasters(db, 600)).map((m) => m.id)).to.deep.equal([a]);

    await db.sequelize.query("INSERT INTO schedulers (name, name_hash, enabled) VALUES ('s', 'h', 1)");
    await db.sequelize.query('INSERT INTO scheduler_masters (schedulerid, masterid) VALUES (1, ?)', { replacements: [a] });
    const outcomes = await Promise.all([markMasterInactive(db, a), markMasterInactive(db, a)]);
    expect(outcomes.sort()).to.deep.equal([false, true]);
    expect(await getMaster(db, a)).to.include({ active: 0, last_active: 500 });
    const [rows] = await db.sequelize.query('SELECT * FROM scheduler_masters');
    expect(rows).to.deep.equal([]);
    expect(await getExpiredMasters(db, 600)).to.deep.equal([]);
    expect((await getMasters(db)).map((m) => m.active)).to.deep.equal([0, 1]);
  });
});
