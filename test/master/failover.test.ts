import { expect } from 'chai';
import { join } from 'node:path';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { getRequest } from '../../lib/db/buildrequests.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import type { Database } from '../../lib/db/connection.js';
import { getLockHolders } from '../../lib/db/locks.js';
import { getMaster } from '../../lib/db/masters.js';
import { select } from '../../lib/db/query.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { until } from './masterDir.js';
import { MasterCluster } from './masterProcs.js';

/**
 * kill -9 of a master mid-build: after deadMasterTimeout another master declares it dead, ends its
 * build RETRY with the reason, releases its claim and its lock, and builds the request itself.
 * Master A's step sleeps a minute (so it is surely mid-build when killed); master B's is `true`.
 * The builder takes an exclusive MasterLock, which A holds when it dies: B can build only once
 * A's lock is gone.
 */
const HEARTBEAT = 1;
const DEAD_AFTER = 6;

interface BuildRow {
  id: number;
  masterid: number;
  results: number | null;
  state_string: string;
  complete_at: number | null;
}

forEachDialect('multi-master failover: kill -9 of a master mid-build', (h) => {
  let sshd: Sshd | undefined;
  let cluster: MasterCluster | undefined;

  before(async function () {
    this.timeout(60_000);
    sshd = await startSshd(this, { users: 2 });
  });

  after(async function () {
    this.timeout(60_000);
    await sshd?.stop();
  });

  afterEach(async function () {
    this.timeout(60_000);
    if (this.currentTest?.state === 'failed') cluster?.dump();
    await cluster?.stopAll();
    cluster = undefined;
  });

  const builds = (db: Database, brid: number) =>
    select<BuildRow>(db, 'SELECT id, masterid, results, state_string, complete_at FROM builds WHERE buildrequestid = ? ORDER BY id', [brid]);

  /** A runs a build of one request (holding the lock), then B comes up idle. */
  async function aBuildingThenB(db: Database) {
    const dbUrl = h.dialect === 'sqlite' ? `sqlite:///${join(h.basedir(), 'state.sqlite')}` : h.url();
    cluster = new MasterCluster({
      dbUrl,
      sshd: sshd!,
      builders: ['locked'],
      command: 'true',
      commandOf: (i) => (i === 0 ? 'sleep 60' : undefined),
      heartbeatInterval: HEARTBEAT,
      deadMasterTimeout: DEAD_AFTER,
      workersOf: (i) => [i],
      preamble: "const repo = new util.MasterLock('repo');",
      builderExtra: "locks: [repo.access('exclusive')],",
    });
    const a = await cluster.add();
    const aId = await cluster.masterId(db, a);
    const builderid = await findOrCreateBuilder(db, 'locked');
    const { brids } = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'failover', properties: {}, builderids: [builderid] });
    const brid = brids[builderid]!;
    await until(async () => (await builds(db, brid)).some((b) => b.masterid === aId && b.complete_at === null), 'A to be building', 90_000);
    await until(async () => (await getLockHolders(db, { masterid: aId })).length > 0, 'A to hold the lock', 30_000);
    const b = await cluster.add();
    const bId = await cluster.masterId(db, b);
    expect(await getRequest(db, brid)).to.include({ claimed_by_masterid: aId, complete: 0 });
    return { a, aId, b, bId, brid };
  }

  it('another master ends its build RETRY with the reason, releases its claim and lock, and builds the request within the timeout', async function () {
    this.timeout(240_000);
    const db = await h.open();
    const { a, aId, bId, brid } = await aBuildingThenB(db);

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await until(async () => (await getMaster(db, aId))?.active === 0, 'A to be declared dead', 60_000);
    const declaredAfter = (Date.now() - killedAt) / 1000;
    expect(declaredAfter, 'not before the timeout').to.be.greaterThan(DEAD_AFTER - 2);

    const done = await until(async () => {
      const r = await getRequest(db, brid);
      return r?.complete === 1 ? r : undefined;
    }, 'B to build the request', 90_000);
    const finishedAfter = (Date.now() - killedAt) / 1000;
    expect(done).to.include({ results: SUCCESS, claimed_by_masterid: bId });
    // Picked up within the timeout plus a few beats (B's own build is `true`).
    expect(finishedAfter, `request finished ${finishedAfter} s after the kill`).to.be.lessThan(DEAD_AFTER + 4 * HEARTBEAT + 15);

    const rows = await builds(db, brid);
    expect(rows.map((r) => [r.masterid, r.results])).to.deep.equal([[aId, RETRY], [bId, SUCCESS]]);
    expect(rows[0]!.state_string).to.match(/interrupted: master .* stopped responding/);
    expect(await getLockHolders(db, { masterid: aId }), "the dead master's locks").to.deep.equal([]);
    const steps = await select<{ results: number | null }>(db, 'SELECT results FROM steps WHERE buildid = ?', [rows[0]!.id]);
    expect(steps.every((s) => s.results !== null), 'its steps are finished').to.equal(true);
    process.stderr.write(`      [${h.dialect}] declared dead after ${declaredAfter.toFixed(1)} s, request done ${finishedAfter.toFixed(1)} s after the kill\n`);
  });

  it('a master stalled past the timeout (SIGSTOP) is declared dead; when it resumes it stops its build and rejoins, and nothing is built twice', async function () {
    this.timeout(240_000);
    const db = await h.open();
    const { a, aId, bId, brid } = await aBuildingThenB(db);

    a.child.kill('SIGSTOP');
    let resumed = false;
    try {
      await until(async () => (await getRequest(db, brid))?.complete === 1, 'B to build the request', 90_000);
    } finally {
      a.child.kill('SIGCONT');
      resumed = true;
    }
    expect(resumed).to.equal(true);
    // On its next beat A learns it was declared dead: its build stops RETRY, and it goes active again.
    await until(async () => (await builds(db, brid)).every((b) => b.complete_at !== null) && (await getMaster(db, aId))?.active === 1, 'A to stop its build and rejoin', 60_000);
    const rows = await builds(db, brid);
    expect(rows.map((r) => [r.masterid, r.results])).to.deep.equal([[aId, RETRY], [bId, SUCCESS]]);
    expect(await getRequest(db, brid)).to.include({ complete: 1, results: SUCCESS, claimed_by_masterid: bId });
    expect(await getLockHolders(db), 'no lock left held').to.deep.equal([]);
    expect(a.output).to.match(/master\.declaredDead/);
  });
});
