import { expect } from 'chai';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { claimWorker, getWorkerClaims, holdsWorker, releaseMasterWorkerClaims, releaseWorkerClaim } from '../../lib/db/workerClaims.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db/workerClaims', (h) => {
  it('lets one active master drive a worker; the other is told who holds it', async () => {
    const db = await h.open();
    const m1 = await findOrCreateMaster(db, 'host:/m1');
    const m2 = await findOrCreateMaster(db, 'host:/m2');
    for (const m of [m1, m2]) await markMasterActive(db, m, 1000);
    const w = await findOrCreateWorker(db, 'w1');
    expect(await claimWorker(db, w, m1, 1000)).to.deep.equal({ claimed: true });
    expect(await claimWorker(db, w, m2, 1001)).to.deep.equal({ claimed: false, heldBy: m1 });
    expect(await claimWorker(db, w, m1, 1002)).to.deep.equal({ claimed: true });
    expect(await holdsWorker(db, w, m1)).to.equal(true);
    expect(await holdsWorker(db, w, m2)).to.equal(false);
    expect(await getWorkerClaims(db)).to.deep.equal([{ workerid: w, masterid: m1, claimed_at: 1000 }]);
    // Released: the other master gets it at once.
    expect(await releaseWorkerClaim(db, w, m2)).to.equal(false);
    expect(await releaseWorkerClaim(db, w, m1)).to.equal(true);
    expect(await claimWorker(db, w, m2, 1003)).to.deep.equal({ claimed: true });
  });

  it('takes a worker over from an inactive (stopped or expired) master, and a master releases all its claims', async () => {
    const db = await h.open();
    const m1 = await findOrCreateMaster(db, 'host:/m1');
    const m2 = await findOrCreateMaster(db, 'host:/m2');
    for (const m of [m1, m2]) await markMasterActive(db, m, 1000);
    const [w1, w2] = [await findOrCreateWorker(db, 'w1'), await findOrCreateWorker(db, 'w2')];
    await claimWorker(db, w1, m1);
    await claimWorker(db, w2, m1);
    await markMasterInactive(db, m1);
    expect(await claimWorker(db, w1, m2)).to.deep.equal({ claimed: true });
    expect(await holdsWorker(db, w1, m1)).to.equal(false);
    // An inactive master claims nothing, not even a free worker.
    expect(await claimWorker(db, w2, m1)).to.deep.equal({ claimed: true }); // still its own claim
    await releaseWorkerClaim(db, w2, m1);
    expect(await claimWorker(db, w2, m1)).to.deep.equal({ claimed: false, heldBy: 0 });
    await claimWorker(db, w2, m2);
    expect(await releaseMasterWorkerClaims(db, m2)).to.equal(2);
    expect(await getWorkerClaims(db)).to.have.length(0);
  });

  it('gives a contested worker to exactly one of masters racing on two handles', async () => {
    const a = await h.open();
    const b = await h.connect();
    const masters = [await findOrCreateMaster(a, 'host:/m1'), await findOrCreateMaster(a, 'host:/m2'), await findOrCreateMaster(a, 'host:/m3')];
    for (const m of masters) await markMasterActive(a, m, 1000);
    for (let round = 0; round < 10; round++) {
      const w = await findOrCreateWorker(a, `w${round}`);
      const outcomes = await Promise.all(masters.map((m, i) => claimWorker(i % 2 ? a : b, w, m)));
      expect(outcomes.filter((o) => o.claimed), `round ${round}`).to.have.length(1);
      // A takeover race after the winner stops: again one winner.
      const winner = masters[outcomes.findIndex((o) => o.claimed)]!;
      await markMasterInactive(a, winner);
      const others = masters.filter((m) => m !== winner);
      const again = await Promise.all(others.map((m, i) => claimWorker(i % 2 ? a : b, w, m)));
      expect(again.filter((o) => o.claimed), `takeover round ${round}`).to.have.length(1);
      await markMasterActive(a, winner, 1000);
    }
  });
});
