import { expect } from 'chai';
import { MasterLock, WorkerLock } from '../../lib/config/locks.js';
import type { ResolvedLockAccess } from '../../lib/config/resolved.js';
import { acquireLocks, getLockHolders, releaseBuildLocks } from '../../lib/db/locks.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';
import { MessageBus } from '../../lib/master/bus.js';
import type { BuilderHandle, BuildRequestHandle, WorkerHandle } from '../../lib/process/handles.js';
import { acquireLocksWaiting, lockRequests, releaseLocks, withLockCheck } from '../../lib/process/locks.js';
import { forEachDialect } from '../support/databases.js';

const resolved = (access: { lock: unknown; mode: 'counting' | 'exclusive'; count: number }): ResolvedLockAccess => access as unknown as ResolvedLockAccess;
const holder = (buildid: number, masterid = 1) => ({ buildid, stepid: null, masterid });

describe('process/locks', () => {
  it('maps accesses to lock instances: a WorkerLock per worker, with its maxCountForWorker', () => {
    const wl = new WorkerLock('cpu', { maxCount: 4, maxCountForWorker: { big: 16 } });
    const ml = new MasterLock('repo', { maxCount: 2 });
    const accesses = [resolved(wl.access('counting', 2)), resolved(ml.access('exclusive'))];
    expect(lockRequests(accesses, { workerid: 7, name: 'big' })).to.deep.equal([
      { kind: 'WorkerLock', name: 'cpu', workerid: 7, mode: 'counting', count: 2, maxCount: 16 },
      { kind: 'MasterLock', name: 'repo', workerid: 0, mode: 'exclusive', count: 1, maxCount: 2 },
    ]);
    expect(lockRequests(accesses, { workerid: 8, name: 'small' })[0]).to.include({ workerid: 8, maxCount: 4 });
  });
});

forEachDialect('process/locks waiting', (h) => {
  const lock = new MasterLock('one');
  const requests = lockRequests([resolved(lock.access('exclusive'))], { workerid: 0, name: 'w' });

  it('wakes at once when this master releases, and by polling when another master does', async () => {
    const db = await h.open();
    const other = await h.connect();
    const bus = new MessageBus();
    expect(await acquireLocks(other, holder(1, 2), requests)).to.deep.equal({ acquired: true });
    let waitingFor: string | undefined;
    // Another master's release publishes nothing here: only the poll can see it.
    const t0 = Date.now();
    const polled = acquireLocksWaiting({ db, bus, pollMs: 200 }, holder(2), requests, { onWaiting: (r) => (waitingFor = r.name) });
    await new Promise((r) => setTimeout(r, 300));
    await releaseBuildLocks(other, 1);
    expect(await polled).to.equal(true);
    expect(waitingFor).to.equal('one');
    expect(Date.now() - t0).to.be.lessThan(5_000);

    // This master's release wakes a waiter with a long poll through the bus.
    const woken = acquireLocksWaiting({ db, bus, pollMs: 60_000 }, holder(3), requests);
    await new Promise((r) => setTimeout(r, 200));
    const t1 = Date.now();
    await releaseLocks({ db, bus }, { buildid: 2, stepid: null });
    expect(await woken).to.equal(true);
    expect(Date.now() - t1).to.be.lessThan(10_000);
    expect((await getLockHolders(db)).map((r) => r.buildid)).to.deep.equal([3]);
  });

  it('an aborted wait resolves false and holds nothing', async () => {
    const db = await h.open();
    const bus = new MessageBus();
    await acquireLocks(db, holder(1), requests);
    const stop = new AbortController();
    const waiting = acquireLocksWaiting({ db, bus, pollMs: 60_000 }, holder(2), requests, { signal: stop.signal });
    await new Promise((r) => setTimeout(r, 100));
    stop.abort('stopped');
    expect(await waiting).to.equal(false);
    expect((await getLockHolders(db)).map((r) => r.buildid)).to.deep.equal([1]);
  });

  it('canStartBuild refuses a worker whose builder locks are taken, then asks the config\'s own', async () => {
    const db = await h.open();
    const wid = await findOrCreateWorker(db, 'w1');
    await findOrCreateWorker(db, 'w2');
    const wl = new WorkerLock('per-host');
    let asked = 0;
    const check = withLockCheck(db, [resolved(wl.access('exclusive'))], () => {
      asked++;
      return true;
    })!;
    const worker = (name: string) => ({ name }) as WorkerHandle;
    const [builder, request] = [{} as BuilderHandle, {} as BuildRequestHandle];
    await acquireLocks(db, holder(1), lockRequests([resolved(wl.access('exclusive'))], { workerid: wid, name: 'w1' }));
    expect(await check(builder, worker('w1'), request)).to.equal(false);
    expect(asked).to.equal(0);
    expect(await check(builder, worker('w2'), request)).to.equal(true);
    expect(asked).to.equal(1);
    // One check serves one distributor pass: a refused worker stays refused for it; the next pass asks again.
    await releaseBuildLocks(db, 1);
    expect(await check(builder, worker('w1'), request)).to.equal(false);
    const nextPass = withLockCheck(db, [resolved(wl.access('exclusive'))], undefined)!;
    expect(await nextPass(builder, worker('w1'), request)).to.equal(true);
    expect(withLockCheck(db, [], undefined)).to.equal(undefined);
  });
});
