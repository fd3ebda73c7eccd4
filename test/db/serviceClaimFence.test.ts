import { expect } from 'chai';
import { claimChangesource, findOrCreateChangesource, getChangesourceMasters } from '../../lib/db/changesources.js';
import type { Database } from '../../lib/db/connection.js';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { claimScheduler, findSchedulerId, getScheduler, removeMasterServiceClaims } from '../../lib/db/schedulers.js';
import { forEachDialect } from '../support/databases.js';

/**
 * Scheduler and change source claims are fenced like request claims: only an active master takes
 * or keeps one, so a master another master declared dead (active = 0) cannot go on running them.
 */
forEachDialect('db scheduler and change source claims: only while active', (h) => {
  const NOW = 10_000;
  let db: Database;
  beforeEach(async () => {
    db = await h.open();
  });

  async function master(name: string, active: boolean): Promise<number> {
    const id = await findOrCreateMaster(db, name, NOW);
    if (active) await markMasterActive(db, id, NOW);
    return id;
  }

  it('claimScheduler: an inactive master claims nothing; a master declared dead is no longer told it holds one; a live master takes a dead one\'s leftover row', async () => {
    const idle = await master('host:/idle', false);
    const a = await master('host:/a', true);
    const b = await master('host:/b', true);
    const sid = await findSchedulerId(db, 'sched');
    expect(await claimScheduler(db, sid, idle)).to.deep.equal({ claimed: false, owner: null });
    expect((await getScheduler(db, sid))!.masterid, 'no row inserted').to.equal(null);

    expect(await claimScheduler(db, sid, a)).to.deep.equal({ claimed: true, owner: a });
    expect(await claimScheduler(db, sid, b)).to.deep.equal({ claimed: false, owner: a });
    // a is declared dead, and its row is left behind (the expirer died between its two statements).
    expect(await markMasterInactive(db, a)).to.equal(true);
    await db.sequelize.query('INSERT INTO scheduler_masters (schedulerid, masterid) VALUES (?, ?)', { replacements: [sid, a] });
    expect(await claimScheduler(db, sid, a), 'the dead master keeps nothing').to.deep.equal({ claimed: false, owner: a });
    expect(await claimScheduler(db, sid, b), 'a live master takes it over').to.deep.equal({ claimed: true, owner: b });
    // a rejoins: it is a live master again, but b runs the scheduler now.
    await markMasterActive(db, a, NOW + 5);
    expect(await claimScheduler(db, sid, a)).to.deep.equal({ claimed: false, owner: b });
    expect(await removeMasterServiceClaims(db, b)).to.deep.equal({ schedulers: 1, changesources: 0 });
    expect(await claimScheduler(db, sid, a)).to.deep.equal({ claimed: true, owner: a });
  });

  it('claimScheduler from two connections while the claimer is declared dead: a row survives only if inserted before the expiry, and then the expiry removes it', async () => {
    const other = await h.connect();
    const m = await master('host:/m', true);
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push(await findSchedulerId(db, `s${i}`));
    const claims = Promise.all(ids.map((sid, i) => claimScheduler(i % 2 ? db : other, sid, m)));
    const expire = (async () => {
      await markMasterInactive(other, m);
      return removeMasterServiceClaims(other, m);
    })();
    await Promise.all([claims, expire]);
    // Whatever interleaving: nothing is held by the dead master once its expiry is done, and it claims nothing more.
    const held = (await Promise.all(ids.map((sid) => getScheduler(db, sid)))).filter((s) => s!.masterid !== null);
    expect(held).to.deep.equal([]);
    for (const sid of ids.slice(0, 3)) expect((await claimScheduler(db, sid, m)).claimed).to.equal(false);
    expect((await Promise.all(ids.map((sid) => getScheduler(db, sid)))).every((s) => s!.masterid === null)).to.equal(true);
  });

  it("claimChangesource: an inactive master gets 'conflict' and inserts nothing; a holder declared dead is no longer told 'held'", async () => {
    const idle = await master('host:/idle', false);
    const a = await master('host:/a', true);
    const b = await master('host:/b', true);
    const cs = await findOrCreateChangesource(db, 'git://x/repo.git');
    expect(await claimChangesource(db, cs, idle, NOW - 60)).to.equal('conflict');
    expect((await getChangesourceMasters(db)).size).to.equal(0);

    expect(await claimChangesource(db, cs, a, NOW - 60)).to.equal('claimed');
    expect(await claimChangesource(db, cs, a, NOW - 60)).to.equal('held');
    expect(await markMasterInactive(db, a)).to.equal(true);
    expect(await claimChangesource(db, cs, a, NOW - 60), 'declared dead: not held any more').to.equal('conflict');
    expect(await claimChangesource(db, cs, b, NOW - 60), 'a live master takes over').to.equal('claimed');
    expect(await claimChangesource(db, cs, a, NOW - 60)).to.equal('conflict');
    expect([...(await getChangesourceMasters(db)).entries()]).to.deep.equal([[cs, b]]);
  });
});
