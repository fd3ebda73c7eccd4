import { expect } from 'chai';
import { seedBuilds } from '../../bench/scenarios/gc/seed.js';
import type { Database } from '../../lib/db/connection.js';
import { acquireLease, getLease } from '../../lib/db/janitorLease.js';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { selectOne } from '../../lib/db/query.js';
import { JanitorService, type JanitorConfig, type JanitorRunReport } from '../../lib/master/janitor.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';

const DAY = 86_400;

async function builds(db: Database): Promise<number> {
  return Number((await selectOne<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM builds'))!.n);
}

forEachDialect('JanitorService (lib/master/janitor.ts)', (h) => {
  const services: JanitorService[] = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
  });

  async function setUp(config: JanitorConfig = { buildHorizon: DAY }) {
    const db = await h.open();
    const now = Math.floor(Date.now() / 1000);
    const m1 = await findOrCreateMaster(db, 'janitor-test:/m1');
    const m2 = await findOrCreateMaster(db, 'janitor-test:/m2');
    await markMasterActive(db, m1, now);
    await markMasterActive(db, m2, now);
    const make = (masterid: number, onRun?: (r: JanitorRunReport) => void) => {
      const s = new JanitorService({ db, logger: silentLogger(), masterid, config, ...(onRun ? { onRun } : {}) });
      services.push(s);
      return s;
    };
    return { db, now, m1, m2, make };
  }

  it('of two masters asking at once, exactly one runs it; not again before the interval', async () => {
    const { db, now, m1, m2, make } = await setUp();
    await seedBuilds(db, { builds: 50, startAt: now - 10 * DAY, spacing: 60 });
    const [a, b] = [make(m1), make(m2)];
    const reports = await Promise.all([a.runIfDue(), b.runIfDue()]);
    expect(reports.filter((r) => r !== undefined)).to.have.length(1);
    expect(reports.find((r) => r)!.rows.builds).to.equal(50);
    expect(await builds(db)).to.equal(0);
    expect(await a.runIfDue()).to.equal(undefined);
    expect(await b.runIfDue()).to.equal(undefined);
    expect((await getLease(db))!.expires_at).to.equal(0);
    expect(await a.runIfDue(true)).to.include({ totalRows: 0 });
  });

  it("takes over the lease of a master marked dead, before it expires", async () => {
    const { db, now, m1, m2, make } = await setUp();
    await seedBuilds(db, { builds: 5, startAt: now - 10 * DAY });
    expect((await acquireLease(db, m1, { now, leaseSeconds: 3600, intervalSeconds: 0 })).acquired).to.equal(true);
    const b = make(m2);
    expect(await b.runIfDue(true)).to.equal(undefined);
    await markMasterInactive(db, m1);
    const report = await b.runIfDue(true);
    expect(report?.rows.builds).to.equal(5);
  });

  it('runs by itself every interval once started, and stops between batches', async () => {
    const { db, now, m1, make } = await setUp({ buildHorizon: DAY, interval: 1, batchSize: 4 });
    await seedBuilds(db, { builds: 2000, startAt: now - 10 * DAY, spacing: 1, steps: 1 });
    const ran: JanitorRunReport[] = [];
    const s = make(m1, (r) => ran.push(r));
    let batches = 0;
    const firstBatch = new Promise<void>((resolve) => (s.onBatch = () => (++batches === 3 ? resolve() : undefined)));
    s.start();
    await firstBatch;
    await s.stop();
    // Stopped mid-run: some builds deleted, not all, and the lease is free again.
    const left = await builds(db);
    expect(left).to.be.greaterThan(0).and.lessThan(2000);
    expect(ran).to.have.length(1);
    expect(ran[0]!.aborted).to.equal(true);
    expect((await getLease(db))!.expires_at).to.equal(0);
  });
});
