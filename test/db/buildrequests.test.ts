import { expect } from 'chai';
import {
  claimRequests,
  completeRequests,
  getPendingRequests,
  getRequest,
  getRequests,
  getRequestsOfBuildset,
  pendingBuilderIds,
  pendingOldestByBuilder,
  pendingRequestsQuery,
  pendingOldestQuery,
  releaseMasterClaims,
  unclaimRequests,
} from '../../lib/db/buildrequests.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { insert, select } from '../../lib/db/query.js';
import type { Database } from '../../lib/db/connection.js';
import { forEachDialect } from '../support/databases.js';
import { addRequests, seed } from './dataSeed.js';

forEachDialect('db/buildrequests', (h) => {
  it('lists pending requests by priority, then age, then id, per builder and limited', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateBuilder(db, 'other');
    const [a, b] = await addRequests(db, s.builderid, 2, 2000);
    const { brids: urgent } = await addBuildset(db, { sourcestamps: [{}], reason: 'urgent', properties: {}, builderids: [s.builderid], priority: 5, submitted_at: 2500 });
    const { brids: same } = await addBuildset(db, { sourcestamps: [{}], reason: 'same time', properties: {}, builderids: [s.builderid, other], submitted_at: 2000 });

    const ids = (await getPendingRequests(db)).map((r) => r.id);
    expect(ids).to.deep.equal([urgent[s.builderid], a, same[s.builderid], same[other], b]);
    expect((await getPendingRequests(db, { builderid: other })).map((r) => r.id)).to.deep.equal([same[other]]);
    expect((await getPendingRequests(db, { limit: 2 })).map((r) => r.id)).to.deep.equal([urgent[s.builderid], a]);
    const first = (await getPendingRequests(db))[0]!;
    expect(first).to.include({ buildsetid: first.buildsetid, builderid: s.builderid, priority: 5, complete: 0, results: -1, submitted_at: 2500 });
    expect(await pendingBuilderIds(db)).to.deep.equal([s.builderid, other].sort((x, y) => x - y));
  });

  it('finds pending requests through indexes, never scanning finished history (sqlite plan)', async function () {
    if (h.dialect !== 'sqlite') this.skip();
    const db = await h.open();
    for (const opts of [{}, { builderid: 1 }, { limit: 5 }]) {
      const { sql, params } = pendingRequestsQuery(opts, h.dialect);
      const plan = (await select<{ detail: string }>(db, `EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail);
      expect(plan.join(' | ')).to.match(/SEARCH br USING INDEX buildrequests_(complete|pending_order)/);
      expect(plan.join(' | ')).to.match(/SEARCH c USING COVERING INDEX buildrequest_claims_brids/);
      expect(plan.some((d) => /^SCAN (br|buildrequests)\b/.test(d)), plan.join(' | ')).to.equal(false);
    }
  });

  it('finds pending requests through indexes on MySQL too (EXPLAIN): complete index, then the claims unique index', async function () {
    if (h.dialect !== 'mysql') this.skip();
    const db = await h.open();
    const s = await seed(db);
    await addFinishedRequests(db, s.builderid, 5000, s.masterid);
    await addRequests(db, s.builderid, 20);
    await db.sequelize.query('ANALYZE TABLE buildrequests, buildrequest_claims');
    for (const opts of [{}, { builderid: s.builderid }, { limit: 5 }]) {
      const { sql, params } = pendingRequestsQuery(opts, h.dialect);
      const plan = await select<{ table: string; type: string; key: string | null; rows: number }>(db, `EXPLAIN ${sql}`, params);
      const br = plan.find((r) => r.table === 'br')!;
      const c = plan.find((r) => r.table === 'c')!;
      expect(c.type, JSON.stringify(plan)).to.match(/^(eq_ref|ref)$/);
      expect(br.type, JSON.stringify(plan)).to.not.equal('ALL');
      expect(br.key, JSON.stringify(plan)).to.match(/^buildrequests_(complete|builderid|pending_order)$/);
      expect(Number(br.rows), JSON.stringify(plan)).to.be.lessThan(1000);
      expect(c.key, JSON.stringify(plan)).to.equal('buildrequest_claims_brids');
    }
  });

  it('a scheduling pass reads no more rows with 100,000 finished requests than with 100 (MySQL handler counters; sqlite plan after ANALYZE)', async function () {
    this.timeout(180_000);
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateBuilder(db, 'other');
    await addFinishedRequests(db, s.builderid, 100, s.masterid);
    await addRequests(db, s.builderid, 30);
    await addRequests(db, other, 30);
    const pass = async () => {
      await pendingOldestByBuilder(db);
      await getPendingRequests(db, { builderid: s.builderid, limit: 4 });
      await getPendingRequests(db, { builderid: other, limit: 4 });
    };
    if (h.dialect === 'mysql') {
      // One connection, so the session's counters are the pass's own.
      const rowsRead = () => db.transaction(async (t) => {
        const read = async () => {
          const rows = await select<{ Variable_name: string; Value: string }>(db, "SHOW SESSION STATUS LIKE 'Handler_read%'", [], t);
          return rows.reduce((n, r) => n + Number(r.Value), 0);
        };
        const before = await read();
        await pendingOldestByBuilder(db, t);
        await getPendingRequests(db, { builderid: s.builderid, limit: 4 }, t);
        await getPendingRequests(db, { builderid: other, limit: 4 }, t);
        return (await read()) - before;
      });
      const small = await rowsRead();
      await addFinishedRequests(db, s.builderid, 100_000, s.masterid);
      await db.sequelize.query('ANALYZE TABLE buildrequests, buildrequest_claims');
      const big = await rowsRead();
      expect(big, `rows read with 100k finished (${big}) vs 100 (${small})`).to.be.at.most(small + 10);
      expect(small).to.be.greaterThan(0);
    } else {
      await addFinishedRequests(db, s.builderid, 100_000, s.masterid);
      await db.sequelize.query('ANALYZE');
      for (const opts of [{}, { builderid: other, limit: 4 }]) {
        const { sql, params } = pendingRequestsQuery(opts, h.dialect);
        const plan = (await select<{ detail: string }>(db, `EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail).join(' | ');
        expect(plan).to.match(/USING (COVERING )?INDEX buildrequests_(complete|pending_order)/);
        expect(plan).to.not.match(/^SCAN br\b|\| SCAN br\b/);
      }
      const plan = (await select<{ detail: string }>(db, `EXPLAIN QUERY PLAN ${pendingOldestQuery(h.dialect)}`)).map((r) => r.detail).join(' | ');
      expect(plan).to.match(/INDEX buildrequests_pending_age/);
    }
    await pass();
    expect((await getPendingRequests(db)).length).to.equal(60);
  });

  it('a scheduling pass reads no more rows with 20,000 pending requests than with 40: no sort, no scan of the queue (plans on both dialects; MySQL handler counters)', async function () {
    this.timeout(180_000);
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateBuilder(db, 'other');
    await addPendingRequests(db, s.builderid, 20, 3000);
    await addPendingRequests(db, other, 20, 3000);
    // Running builds: claimed, unfinished requests, which every walk steps over.
    await insert(db, 'INSERT INTO buildrequest_claims (brid, masterid, claimed_at) SELECT id, ?, 150 FROM buildrequests WHERE builderid = ? ORDER BY id LIMIT 5', [s.masterid, s.builderid]);
    const next = pendingRequestsQuery({ builderid: s.builderid, limit: 4 }, h.dialect);
    const analyze = () => db.sequelize.query(h.dialect === 'mysql' ? 'ANALYZE TABLE buildrequests, buildrequest_claims' : 'ANALYZE');
    const checkPlans = async () => {
      if (h.dialect === 'sqlite') {
        const plan = async (sql: string, params: unknown[] = []) => (await select<{ detail: string }>(db, `EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail).join(' | ');
        const p1 = await plan(next.sql, next.params);
        expect(p1).to.match(/SEARCH br USING INDEX buildrequests_pending_order \(builderid=\? AND complete=\?\)/);
        expect(p1, 'taken in index order').to.not.match(/TEMP B-TREE/);
        const p2 = await plan(pendingOldestQuery(h.dialect));
        expect(p2).to.match(/SEARCH br USING COVERING INDEX buildrequests_pending_age \(builderid=\? AND complete=\?\)/);
        expect(p2).to.not.match(/TEMP B-TREE|SCAN br\b/);
        return;
      }
      type Row = { table: string; type: string; key: string | null; Extra: string | null; select_type: string };
      const p1 = await select<Row>(db, `EXPLAIN ${next.sql}`, next.params);
      const br1 = p1.find((r) => r.table === 'br')!;
      expect(br1.key, JSON.stringify(p1)).to.equal('buildrequests_pending_order');
      expect(p1.map((r) => r.Extra ?? '').join(' '), 'taken in index order').to.not.match(/filesort|temporary/i);
      expect(p1.find((r) => r.table === 'c')!.Extra, 'an anti-join probe').to.match(/Not exists/);
      const p2 = await select<Row>(db, `EXPLAIN ${pendingOldestQuery(h.dialect)}`);
      const br2 = p2.find((r) => r.table === 'br')!;
      expect(br2, JSON.stringify(p2)).to.include({ select_type: 'DEPENDENT SUBQUERY', type: 'ref', key: 'buildrequests_pending_age' });
      expect(p2.map((r) => r.Extra ?? '').join(' '), JSON.stringify(p2)).to.not.match(/filesort|temporary/i);
    };
    const rowsRead = () => db.transaction(async (t) => {
      const read = async () => (await select<{ Value: string }>(db, "SHOW SESSION STATUS LIKE 'Handler_read%'", [], t)).reduce((n, r) => n + Number(r.Value), 0);
      const before = await read();
      await pendingOldestByBuilder(db, t);
      await getPendingRequests(db, { builderid: s.builderid, limit: 4 }, t);
      await getPendingRequests(db, { builderid: other, limit: 4 }, t);
      return (await read()) - before;
    });
    await analyze();
    await checkPlans();
    const small = h.dialect === 'mysql' ? await rowsRead() : 0;
    const oldestBefore = await pendingOldestByBuilder(db);
    // The queue grows 500-fold, all of it older and more urgent than nothing already there.
    await addPendingRequests(db, s.builderid, 10_000, 4000);
    await addPendingRequests(db, other, 10_000, 4000);
    await analyze();
    await checkPlans();
    if (h.dialect === 'mysql') {
      const big = await rowsRead();
      expect(big, `rows read with 20,000 pending (${big}) vs 40 (${small})`).to.be.at.most(small + 10);
      expect(small).to.be.greaterThan(0);
    }
    expect(await pendingOldestByBuilder(db)).to.deep.equal(oldestBefore);
    const taken = await getPendingRequests(db, { builderid: s.builderid, limit: 4 });
    expect(taken.map((r) => r.priority), 'highest priority first').to.deep.equal([2, 2, 2, 2]);
    expect(taken.map((r) => r.submitted_at)).to.deep.equal([...taken.map((r) => r.submitted_at)].sort((a, b) => a - b));
  });

  it('a fenced claim (onlyWhileActive) succeeds only while the master is active: a master declared dead claims nothing', async () => {
    const db = await h.open();
    const s = await seed(db);
    const [a, b, c] = await addRequests(db, s.builderid, 3);
    expect(await claimRequests(db, [a!], s.masterid, 4000, undefined, { onlyWhileActive: true })).to.deep.equal({ claimed: [], conflicts: [a] });
    await markMasterActive(db, s.masterid, 4000);
    expect(await claimRequests(db, [a!, b!], s.masterid, 4000, undefined, { onlyWhileActive: true })).to.deep.equal({ claimed: [a, b], conflicts: [] });
    expect(await markMasterInactive(db, s.masterid, undefined, 5000)).to.equal(true);
    expect(await claimRequests(db, [c!], s.masterid, 4001, undefined, { onlyWhileActive: true })).to.deep.equal({ claimed: [], conflicts: [c] });
    expect((await getPendingRequests(db)).map((r) => r.id)).to.deep.equal([c]);
  });

  it('claims requests for a master; claimed and completed ones are no longer pending', async () => {
    const db = await h.open();
    const s = await seed(db);
    const [a, b, c] = await addRequests(db, s.builderid, 3);
    expect(await claimRequests(db, [a!], s.masterid, 4000)).to.deep.equal({ claimed: [a], conflicts: [] });
    expect(await getRequest(db, a!)).to.include({ id: a, claimed_by_masterid: s.masterid, claimed_at: 4000 });
    expect(await getRequest(db, b!)).to.include({ claimed_by_masterid: null, claimed_at: null });
    expect((await getPendingRequests(db)).map((r) => r.id)).to.deep.equal([b, c]);

    expect(await completeRequests(db, [a!], SUCCESS, 4100, s.masterid)).to.deep.equal([a]);
    expect(await getRequest(db, a!)).to.include({ complete: 1, results: SUCCESS, complete_at: 4100 });
    expect((await getPendingRequests(db)).map((r) => r.id)).to.deep.equal([b, c]);
    expect(await pendingBuilderIds(db)).to.deep.equal([s.builderid]);
  });

  it('reports each request of a batch: won, lost to another master, already held, or missing', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateMaster(db, 'host:/other');
    const [a, b, c, d] = await addRequests(db, s.builderid, 4);
    await claimRequests(db, [b!], other, 4000);
    await claimRequests(db, [c!], s.masterid, 4000);
    const outcome = await claimRequests(db, [d!, a!, b!, c!, a!, 999_999], s.masterid, 4001);
    expect(outcome).to.deep.equal({ claimed: [a, d], conflicts: [b, c, 999_999] });
    expect((await getRequests(db, [a!, b!, c!, d!])).map((r) => r.claimed_by_masterid)).to.deep.equal([s.masterid, other, s.masterid, s.masterid]);
  });

  it('does not let a completed request be claimed again', async () => {
    const db = await h.open();
    const s = await seed(db);
    const [a] = await addRequests(db, s.builderid, 1);
    await claimRequests(db, [a!], s.masterid, 4000);
    await completeRequests(db, [a!], SUCCESS, 4001, s.masterid);
    await unclaimRequests(db, [a!], s.masterid);
    expect(await getPendingRequests(db)).to.deep.equal([]);
    expect(await claimRequests(db, [a!], s.masterid, 4002)).to.deep.equal({ claimed: [], conflicts: [a] });
  });

  it('unclaims only the calling master\'s claims', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateMaster(db, 'host:/other');
    const [a, b] = await addRequests(db, s.builderid, 2);
    await claimRequests(db, [a!], s.masterid, 4000);
    await claimRequests(db, [b!], other, 4000);
    expect(await unclaimRequests(db, [a!, b!, a!], s.masterid)).to.equal(1);
    expect((await getPendingRequests(db)).map((r) => r.id)).to.deep.equal([a]);
    expect(await getRequest(db, b!)).to.include({ claimed_by_masterid: other });
    expect(await unclaimRequests(db, [], s.masterid)).to.equal(0);
  });

  it('releases every claim a master holds on incomplete requests (housekeeping)', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateMaster(db, 'host:/other');
    const [a, b, c] = await addRequests(db, s.builderid, 3);
    await claimRequests(db, [a!, b!], other, 4000);
    await claimRequests(db, [c!], s.masterid, 4000);
    await completeRequests(db, [a!], FAILURE, 4001, other);
    expect(await releaseMasterClaims(db, other)).to.deep.equal([b]);
    expect((await getPendingRequests(db)).map((r) => r.id)).to.deep.equal([b]);
    expect(await getRequest(db, a!)).to.include({ complete: 1, claimed_by_masterid: other });
  });

  it('completes only requests the master holds the claim of, and each only once', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateMaster(db, 'host:/other');
    const [a, b, c] = await addRequests(db, s.builderid, 3);
    await claimRequests(db, [a!, b!], s.masterid, 4000);

    expect(await completeRequests(db, [a!, b!, c!], FAILURE, 4100, other)).to.deep.equal([]);
    expect((await getRequests(db, [a!, b!, c!])).map((r) => r.complete)).to.deep.equal([0, 0, 0]);

    expect(await completeRequests(db, [b!, a!, c!], FAILURE, 4100, s.masterid)).to.deep.equal([a, b]);
    expect(await completeRequests(db, [a!], SUCCESS, 4200, s.masterid)).to.deep.equal([]);
    expect(await getRequest(db, a!)).to.include({ complete: 1, results: FAILURE, complete_at: 4100 });
    expect(await getRequest(db, c!)).to.include({ complete: 0, results: -1 });
  });

  it('completes nothing for a master whose claim was released and taken by another', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateMaster(db, 'host:/other');
    const [a] = await addRequests(db, s.builderid, 1);
    await claimRequests(db, [a!], s.masterid, 4000);
    await releaseMasterClaims(db, s.masterid);
    await claimRequests(db, [a!], other, 4001);
    expect(await completeRequests(db, [a!], SUCCESS, 4002, s.masterid)).to.deep.equal([]);
    expect(await completeRequests(db, [a!], SUCCESS, 4003, other)).to.deep.equal([a]);
  });

  it('lists the requests of a buildset with their claims', async () => {
    const db = await h.open();
    const s = await seed(db);
    const other = await findOrCreateBuilder(db, 'other');
    const { bsid, brids } = await addBuildset(db, { sourcestamps: [], reason: 'x', properties: {}, builderids: [s.builderid, other] });
    await claimRequests(db, [brids[other]!], s.masterid, 4000);
    const rows = await getRequestsOfBuildset(db, bsid);
    expect(rows.map((r) => [r.builderid, r.claimed_by_masterid])).to.deep.equal([[s.builderid, null], [other, s.masterid]]);
  });

  it('two masters (two connections) claiming the same 200 requests in batches: each claimed exactly once', async function () {
    this.timeout(120_000);
    const db1 = await h.open();
    const db2 = await h.connect();
    const s = await seed(db1);
    const m2 = await findOrCreateMaster(db2, 'host:/second');
    const brids = await addRequests(db1, s.builderid, 200);
    const [r1, r2] = await Promise.all([
      claimRequests(db1, brids, s.masterid, 5000),
      claimRequests(db2, [...brids].reverse(), m2, 5000),
    ]);
    expectPartition(brids, r1, r2);
    const rows = await getRequests(db1, brids);
    for (const r of rows) expect(r.claimed_by_masterid).to.equal(r1.claimed.includes(r.id) ? s.masterid : m2);
    expect(await getPendingRequests(db1)).to.deep.equal([]);
  });

  it('two masters claiming the same 200 requests one at a time, interleaved: each claimed exactly once', async function () {
    this.timeout(120_000);
    const db1 = await h.open();
    const db2 = await h.connect();
    const s = await seed(db1);
    const m2 = await findOrCreateMaster(db2, 'host:/second');
    const brids = await addRequests(db1, s.builderid, 200);
    const claimOneByOne = async (db: typeof db1, masterid: number, order: number[]) => {
      const won: number[] = [];
      const lost: number[] = [];
      // Several claims in flight per master, as a busy distributor would have.
      await Promise.all([0, 1, 2, 3].map(async (lane) => {
        for (let i = lane; i < order.length; i += 4) {
          const r = await claimRequests(db, [order[i]!], masterid, 5000);
          won.push(...r.claimed);
          lost.push(...r.conflicts);
        }
      }));
      return { claimed: won, conflicts: lost };
    };
    const shuffled = [...brids].sort(() => Math.random() - 0.5);
    const [r1, r2] = await Promise.all([claimOneByOne(db1, s.masterid, brids), claimOneByOne(db2, m2, shuffled)]);
    expectPartition(brids, r1, r2);
  });
});

/** `n` finished requests (complete = 1) in one buildset, each with its claim kept, inserted in bulk. */
async function addFinishedRequests(db: Database, builderid: number, n: number, masterid?: number): Promise<void> {
  const { bsid } = await addBuildset(db, { sourcestamps: [{}], reason: 'history', properties: {}, builderids: [], submitted_at: 100 });
  for (let done = 0; done < n; done += 2000) {
    const rows = Math.min(2000, n - done);
    const params: number[] = [];
    for (let i = 0; i < rows; i++) params.push(bsid, builderid, 100 + done + i, 200 + done + i);
    await insert(db, `INSERT INTO buildrequests (buildsetid, builderid, priority, complete, results, submitted_at, complete_at, waited_for) VALUES ${Array(rows).fill('(?, ?, 0, 1, 0, ?, ?, 0)').join(', ')}`, params);
  }
  if (masterid !== undefined) {
    await insert(db, 'INSERT INTO buildrequest_claims (brid, masterid, claimed_at) SELECT id, ?, 150 FROM buildrequests WHERE buildsetid = ?', [masterid, bsid]);
  }
}

/** `n` pending requests of the builder, priorities 0, 1, 2 in turn, submitted from `from` on (one per second). */
async function addPendingRequests(db: Database, builderid: number, n: number, from: number): Promise<void> {
  const { bsid } = await addBuildset(db, { sourcestamps: [{}], reason: 'queue', properties: {}, builderids: [], submitted_at: from });
  for (let done = 0; done < n; done += 2000) {
    const rows = Math.min(2000, n - done);
    const params: number[] = [];
    for (let i = 0; i < rows; i++) params.push(bsid, builderid, (done + i) % 3, from + done + i);
    await insert(db, `INSERT INTO buildrequests (buildsetid, builderid, priority, complete, results, submitted_at, complete_at, waited_for) VALUES ${Array(rows).fill('(?, ?, ?, 0, -1, ?, NULL, 0)').join(', ')}`, params);
  }
}

/** Every request won by exactly one of the two, and each lost exactly what the other won. */
function expectPartition(brids: number[], r1: { claimed: number[]; conflicts: number[] }, r2: { claimed: number[]; conflicts: number[] }): void {
  const sort = (x: number[]) => [...x].sort((a, b) => a - b);
  expect(sort([...r1.claimed, ...r2.claimed])).to.deep.equal(sort(brids));
  expect(sort(r1.conflicts)).to.deep.equal(sort(r2.claimed));
  expect(sort(r2.conflicts)).to.deep.equal(sort(r1.claimed));
}
