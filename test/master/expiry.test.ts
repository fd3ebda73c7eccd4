import { expect } from 'chai';
import { findOrCreateBuilder, getBuilderMasterIds, setBuilderMasters } from '../../lib/db/builders.js';
import { claimRequests, getRequest } from '../../lib/db/buildrequests.js';
import { addBuild, getBuild } from '../../lib/db/builds.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { findOrCreateChangesource, getChangesourceMasters } from '../../lib/db/changesources.js';
import { addLog, getLogs } from '../../lib/db/logs.js';
import { findOrCreateMaster, getMaster, heartbeatMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { claimScheduler, findSchedulerId, getScheduler } from '../../lib/db/schedulers.js';
import { addStep, getSteps } from '../../lib/db/steps.js';
import { MessageBus, type RoutingKey } from '../../lib/master/bus.js';
import { MasterExpiry } from '../../lib/master/expiry.js';
import { Heartbeat } from '../../lib/master/heartbeat.js';
import { RETRY } from '../../lib/process/results.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';

const NOW = 1_700_000_000;

forEachDialect('master/expiry', (h) => {
  /** A master that died mid-build: a claimed request, a running build with a step and a log, scheduler, change source and builder rows. */
  async function deadMaster(db: Awaited<ReturnType<typeof h.open>>, name: string, lastActive: number) {
    const dead = await findOrCreateMaster(db, name);
    await markMasterActive(db, dead, lastActive);
    const builderid = await findOrCreateBuilder(db, `builder-of-${name}`);
    await setBuilderMasters(db, dead, [builderid]);
    const { brids } = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'r', properties: {}, builderids: [builderid] });
    const brid = brids[builderid]!;
    await claimRequests(db, [brid], dead, lastActive);
    const { buildid } = await addBuild(db, { builderid, buildrequestid: brid, workerid: null, masterid: dead, state_string: 'building', started_at: lastActive });
    const { stepid } = await addStep(db, buildid, 'compile');
    await addLog(db, stepid, 'stdio', 's');
    const sched = await findSchedulerId(db, `sched-of-${name}`);
    await claimScheduler(db, sched, dead);
    const cs = await findOrCreateChangesource(db, `poller-of-${name}`);
    await db.sequelize.query('INSERT INTO changesource_masters (changesourceid, masterid) VALUES (?, ?)', { replacements: [cs, dead] });
    return { dead, builderid, brid, buildid, stepid, sched };
  }

  function recorder(bus: MessageBus) {
    const seen: string[] = [];
    bus.subscribe(['*', '*', '*'], (key: RoutingKey) => seen.push(key.join('.')));
    return seen;
  }

  it('expires a silent master exactly once among several live ones, and housekeeps everything it held', async () => {
    const db1 = await h.open();
    const db2 = await h.connect();
    const live1 = await findOrCreateMaster(db1, 'host:/live1');
    const live2 = await findOrCreateMaster(db1, 'host:/live2');
    await markMasterActive(db1, live1, NOW);
    await markMasterActive(db1, live2, NOW - 30); // quiet, but within the timeout
    const d = await deadMaster(db1, 'host:/dead', NOW - 61);
    const bus1 = new MessageBus();
    const bus2 = new MessageBus();
    const seen1 = recorder(bus1);
    const seen2 = recorder(bus2);
    const e1 = new MasterExpiry({ db: db1, bus: bus1, logger: silentLogger(), masterid: live1, deadMasterTimeout: 60, now: () => NOW });
    const e2 = new MasterExpiry({ db: db2, bus: bus2, logger: silentLogger(), masterid: live2, deadMasterTimeout: 60, now: () => NOW });
    const outcomes = await Promise.all([e1.run(), e2.run(), e1.run(), e2.run()]);
    expect(outcomes.flat()).to.deep.equal([d.dead, d.dead]); // a shared pass per master: one master won
    expect(outcomes[0]!.length + outcomes[1]!.length).to.equal(1);

    expect(await getMaster(db1, d.dead)).to.include({ active: 0 });
    expect(await getMaster(db1, live2)).to.include({ active: 1 });
    expect(await getBuild(db1, d.buildid)).to.include({ results: RETRY });
    expect((await getSteps(db1, d.buildid))[0]).to.include({ results: RETRY });
    expect((await getLogs(db1, d.stepid))[0]).to.include({ complete: 1 });
    expect(await getRequest(db1, d.brid)).to.include({ complete: 0, claimed_by_masterid: null });
    expect((await getScheduler(db1, d.sched))!.masterid).to.equal(null);
    expect([...(await getChangesourceMasters(db1)).values()]).to.deep.equal([]);
    expect((await getBuilderMasterIds(db1, d.dead)).size).to.equal(0);
    const winner = outcomes[0]!.length ? seen1 : seen2;
    const loser = outcomes[0]!.length ? seen2 : seen1;
    expect(winner).to.include(`masters.${d.dead}.stopped`).and.include(`buildrequests.${d.brid}.unclaimed`).and.include(`builds.${d.buildid}.finished`);
    expect(loser).to.deep.equal([]);
    // Nothing more to do on the next beat.
    expect(await e1.run()).to.deep.equal([]);
    expect(await e2.run()).to.deep.equal([]);
  });

  it('never expires itself; each pass housekeeps inactive masters that still hold requests, and the start sweep also those with only builds', async () => {
    const db = await h.open();
    const me = await findOrCreateMaster(db, 'host:/me');
    await markMasterActive(db, me, NOW - 1000); // our own clock was off: still not us
    const d = await deadMaster(db, 'host:/half-done', NOW - 500);
    // The master that expired it died before housekeeping: inactive, still holding its work.
    expect(await markMasterInactive(db, d.dead)).to.equal(true);
    const bus = new MessageBus();
    const e = new MasterExpiry({ db, bus, logger: silentLogger(), masterid: me, deadMasterTimeout: 60, now: () => NOW });
    expect(await e.run()).to.deep.equal([]);
    expect(await getRequest(db, d.brid)).to.include({ claimed_by_masterid: null });
    expect(await getBuild(db, d.buildid)).to.include({ results: RETRY });
    expect(await getMaster(db, me)).to.include({ active: 1 });

    // Only an unfinished build left (its request completed, say): the start sweep finds it.
    const only = await deadMaster(db, 'host:/build-only', NOW - 500);
    await db.sequelize.query('DELETE FROM buildrequest_claims WHERE brid = ?', { replacements: [only.brid] });
    expect(await markMasterInactive(db, only.dead)).to.equal(true);
    await e.run();
    expect(await getBuild(db, only.buildid)).to.include({ results: null });
    await e.run({ sweep: true });
    expect(await getBuild(db, only.buildid)).to.include({ results: RETRY });
  });

  it('a master whose beat landed after the expirer read it is not expired; one expired finds out on its next beat', async () => {
    const db = await h.open();
    const me = await findOrCreateMaster(db, 'host:/me');
    const slow = await findOrCreateMaster(db, 'host:/slow');
    await markMasterActive(db, me, NOW);
    await markMasterActive(db, slow, NOW - 61);
    // The expirer read `slow` as silent; then slow's beat lands; then the conditional UPDATE runs.
    expect(await heartbeatMaster(db, slow, NOW)).to.equal(true);
    expect(await markMasterInactive(db, slow, undefined, NOW - 60)).to.equal(false);
    expect(await getMaster(db, slow)).to.include({ active: 1, last_active: NOW });

    await markMasterActive(db, slow, NOW - 61);
    const e = new MasterExpiry({ db, bus: new MessageBus(), logger: silentLogger(), masterid: me, deadMasterTimeout: 60, now: () => NOW });
    expect(await e.run()).to.deep.equal([slow]);
    // The slow master's next beat does not revive it: it is told it was declared dead.
    expect(await heartbeatMaster(db, slow, NOW + 1)).to.equal(false);
    expect(await getMaster(db, slow)).to.include({ active: 0, last_active: NOW - 61 });

    let declaredDead = 0;
    const beat = new Heartbeat({ db, logger: silentLogger(), masterid: slow, intervalSeconds: 1, now: () => NOW + 2, onDeclaredDead: async () => void declaredDead++ });
    expect(await beat.beat()).to.equal('declaredDead');
    expect(declaredDead).to.equal(1);
    const alive = new Heartbeat({ db, logger: silentLogger(), masterid: me, intervalSeconds: 1, now: () => NOW + 2, onDeclaredDead: async () => void declaredDead++ });
    expect(await alive.beat()).to.equal('alive');
    expect(await getMaster(db, me)).to.include({ active: 1, last_active: NOW + 2 });
    expect(declaredDead).to.equal(1);
  });
});
