import { expect } from 'chai';
import {
  findOrCreateMaster,
  getExpiredMasters,
  getMaster,
  getMasterBoot,
  getMasters,
  heartbeatMaster,
  markMasterActive,
  markMasterInactive,
  recordMasterBoot,
} from '../../lib/db/masters.js';
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

  it('records each boot of a master (time, pid, incarnation) in object_state under Buildbot\'s master object', async () => {
    const db = await h.open();
    expect(await getMasterBoot(db, 'host:/m')).to.equal(undefined);
    expect(await recordMasterBoot(db, 'host:/m', 1000, 11)).to.deep.equal({ boot_time: 1000, pid: 11, incarnation: 1 });
    expect(await recordMasterBoot(db, 'host:/m', 2000, 12)).to.deep.equal({ boot_time: 2000, pid: 12, incarnation: 2 });
    expect(await getMasterBoot(db, 'host:/m')).to.deep.equal({ boot_time: 2000, pid: 12, incarnation: 2 });
    const [objects] = await db.sequelize.query("SELECT name, class_name FROM objects WHERE class_name = 'buildbot.master.BuildMaster'");
    expect(objects).to.deep.equal([{ name: 'host:/m', class_name: 'buildbot.master.BuildMaster' }]);
  });

  it('the heartbeat refreshes only an active master: one declared dead is not revived', async () => {
    const db = await h.open();
    const a = await findOrCreateMaster(db, 'host:/a', 1);
    expect(await heartbeatMaster(db, a, 100)).to.equal(false); // never went active
    await markMasterActive(db, a, 100);
    expect(await heartbeatMaster(db, a, 100)).to.equal(true); // same second: still matched
    expect(await heartbeatMaster(db, a, 150)).to.equal(true);
    expect(await markMasterInactive(db, a, undefined, 150)).to.equal(false); // beat at 150 is not older than 150
    expect(await markMasterInactive(db, a, undefined, 151)).to.equal(true);
    expect(await heartbeatMaster(db, a, 200)).to.equal(false);
    expect(await getMaster(db, a)).to.include({ active: 0, last_active: 150 });
  });
});
