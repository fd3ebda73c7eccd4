import { expect } from 'chai';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { getWorkerClaims } from '../../lib/db/workerClaims.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';
import { WorkerClaimer } from '../../lib/master/workerClaimer.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';
import { until } from './masterDir.js';

forEachDialect('master/workerClaimer', (h) => {
  const claimers: WorkerClaimer[] = [];
  afterEach(async () => {
    for (const c of claimers.splice(0)) await c.stop();
  });

  it('one of two masters drives a worker; the other takes it when it stops, and a master that lost it lets go', async () => {
    const db = await h.open();
    const other = await h.connect();
    const [m1, m2] = [await findOrCreateMaster(db, 'host:/m1'), await findOrCreateMaster(db, 'host:/m2')];
    for (const m of [m1, m2]) await markMasterActive(db, m, Math.floor(Date.now() / 1000));
    const wid = await findOrCreateWorker(db, 'w1');
    const log: string[] = [];
    const make = (database: typeof db, masterid: number, tag: string) => {
      const c = new WorkerClaimer({
        db: database,
        logger: silentLogger(),
        masterid,
        intervalMs: 100,
        isConfigured: () => true,
        onWon: (name) => log.push(`${tag} won ${name}`),
        onLost: (name) => log.push(`${tag} lost ${name}`),
      });
      claimers.push(c);
      return c;
    };
    const a = make(db, m1, 'A');
    a.add('w1', wid);
    await until(() => a.holds('w1'), 'A to hold w1', 10_000, 20);
    const b = make(other, m2, 'B');
    b.add('w1', wid);
    await new Promise((r) => setTimeout(r, 500)); // several ticks of B
    expect(b.holds('w1')).to.equal(false);
    expect(log).to.deep.equal(['A won w1']);

    // A stops cleanly: B gets the worker on its next tick.
    await a.stop();
    await a.releaseAll();
    await until(() => b.holds('w1'), 'B to take w1', 10_000, 20);
    expect(await getWorkerClaims(db)).to.deep.include.members([{ workerid: wid, masterid: m2, claimed_at: (await getWorkerClaims(db))[0]!.claimed_at }]);

    // B is declared dead while alive; a third master takes w1 over; B notices and lets go.
    await markMasterInactive(db, m2);
    const m3 = await findOrCreateMaster(db, 'host:/m3');
    await markMasterActive(db, m3, Math.floor(Date.now() / 1000));
    const c = make(db, m3, 'C');
    c.add('w1', wid);
    await until(() => c.holds('w1') && log.includes('B lost w1'), 'C to take w1 from the expired B', 10_000, 20);
    await new Promise((r) => setTimeout(r, 500)); // B, inactive, must not take it back
    expect(log.slice(0, 2)).to.deep.equal(['A won w1', 'B won w1']);
    expect(log.slice(2)).to.have.members(['C won w1', 'B lost w1']);
    expect(b.holds('w1')).to.equal(false);
  });

  it('gives up a worker that is no longer configured', async () => {
    const db = await h.open();
    const m1 = await findOrCreateMaster(db, 'host:/m1');
    await markMasterActive(db, m1, Math.floor(Date.now() / 1000));
    const wid = await findOrCreateWorker(db, 'w1');
    let configured = true;
    const a = new WorkerClaimer({ db, logger: silentLogger(), masterid: m1, intervalMs: 100, isConfigured: () => configured, onWon: () => {}, onLost: () => {} });
    claimers.push(a);
    a.add('w1', wid);
    await until(() => a.holds('w1'), 'A to hold w1', 10_000, 20);
    configured = false;
    await until(async () => (await getWorkerClaims(db)).length === 0, 'the claim to go', 10_000, 20);
    expect(a.holds('w1')).to.equal(false);
  });
});
