import { expect } from 'chai';
import {
  acquireLocks,
  getLockHolders,
  locksAvailable,
  releaseBuildLocks,
  releaseMasterLocks,
  releaseStepLocks,
  type LockRequest,
} from '../../lib/db/locks.js';
import { forEachDialect } from '../support/databases.js';

const master = (name: string, mode: LockRequest['mode'] = 'counting', maxCount = 1, count = 1): LockRequest => ({ kind: 'MasterLock', name, workerid: 0, mode, count, maxCount });
const worker = (name: string, workerid: number, mode: LockRequest['mode'] = 'counting', maxCount = 1, count = 1): LockRequest => ({ kind: 'WorkerLock', name, workerid, mode, count, maxCount });
const build = (buildid: number, masterid = 1, stepid: number | null = null) => ({ buildid, stepid, masterid });

forEachDialect('db/locks', (h) => {
  it('exclusive access excludes every other holder, counting or exclusive', async () => {
    const db = await h.open();
    expect(await acquireLocks(db, build(1), [master('repo', 'exclusive')])).to.deep.equal({ acquired: true });
    const blocked = await acquireLocks(db, build(2), [master('repo', 'exclusive')]);
    expect(blocked).to.deep.include({ acquired: false });
    expect(await acquireLocks(db, build(3), [master('repo', 'counting', 5)])).to.deep.include({ acquired: false });
    expect(await locksAvailable(db, [master('repo', 'counting', 5)])).to.equal(false);
    await releaseBuildLocks(db, 1);
    expect(await locksAvailable(db, [master('repo', 'exclusive')])).to.equal(true);
    expect(await acquireLocks(db, build(3), [master('repo', 'counting', 5)])).to.deep.equal({ acquired: true });
    // A counting holder keeps exclusive access out too.
    expect(await acquireLocks(db, build(2), [master('repo', 'exclusive')])).to.deep.include({ acquired: false });
  });

  it('counting access admits up to maxCount units, a count of 0 takes nothing', async () => {
    const db = await h.open();
    expect(await acquireLocks(db, build(1), [master('cpu', 'counting', 3, 2)])).to.deep.equal({ acquired: true });
    expect(await acquireLocks(db, build(2), [master('cpu', 'counting', 3, 2)])).to.deep.include({ acquired: false });
    expect(await acquireLocks(db, build(3), [master('cpu', 'counting', 3, 1)])).to.deep.equal({ acquired: true });
    expect(await acquireLocks(db, build(4), [master('cpu', 'counting', 3, 0)])).to.deep.equal({ acquired: true });
    expect((await getLockHolders(db)).map((r) => [r.buildid, Number(r.count)])).to.deep.equal([[1, 2], [3, 1]]);
  });

  it('WorkerLock instances are per worker, each with its own maxCount (maxCountForWorker)', async () => {
    const db = await h.open();
    expect(await acquireLocks(db, build(1), [worker('heavy', 7, 'counting', 1)])).to.deep.equal({ acquired: true });
    expect(await acquireLocks(db, build(2), [worker('heavy', 7, 'counting', 1)])).to.deep.include({ acquired: false });
    // Another worker's instance is free; a worker whose override is 2 admits two.
    expect(await acquireLocks(db, build(2), [worker('heavy', 8, 'counting', 2)])).to.deep.equal({ acquired: true });
    expect(await acquireLocks(db, build(3), [worker('heavy', 8, 'counting', 2)])).to.deep.equal({ acquired: true });
    expect(await acquireLocks(db, build(4), [worker('heavy', 8, 'counting', 2)])).to.deep.include({ acquired: false });
    // A MasterLock of the same name is another lock.
    expect(await acquireLocks(db, build(4), [master('heavy', 'exclusive')])).to.deep.equal({ acquired: true });
  });

  it('takes all of a list or none of it', async () => {
    const db = await h.open();
    await acquireLocks(db, build(1), [master('b', 'exclusive')]);
    const outcome = await acquireLocks(db, build(2), [master('a', 'exclusive'), master('b', 'exclusive'), master('c', 'exclusive')]);
    expect(outcome).to.deep.equal({ acquired: false, blockedBy: master('b', 'exclusive') });
    expect((await getLockHolders(db)).map((r) => r.lockname)).to.deep.equal(['b']);
    expect(await locksAvailable(db, [master('a', 'exclusive'), master('c', 'exclusive')])).to.equal(true);
  });

  it('releases by step, by build (steps included) and by master', async () => {
    const db = await h.open();
    await acquireLocks(db, build(1, 10), [master('x', 'counting', 9)]);
    await acquireLocks(db, build(1, 10, 100), [master('y', 'counting', 9)]);
    await acquireLocks(db, build(1, 10, 101), [worker('z', 3, 'counting', 9)]);
    await acquireLocks(db, build(2, 20), [master('x', 'counting', 9)]);
    await acquireLocks(db, build(3, 10), [master('x', 'counting', 9)]);
    expect(await releaseStepLocks(db, 1, 100)).to.equal(1);
    expect((await getLockHolders(db)).map((r) => [r.buildid, r.stepid, r.lockname])).to.deep.equal([[1, null, 'x'], [1, 101, 'z'], [2, null, 'x'], [3, null, 'x']]);
    expect(await releaseBuildLocks(db, 1)).to.equal(2);
    expect(await releaseMasterLocks(db, 10)).to.equal(1);
    const left = await getLockHolders(db);
    expect(left.map((r) => [r.buildid, r.masterid, r.lockkind, r.mode])).to.deep.equal([[2, 20, 'MasterLock', 'counting']]);
    expect(await getLockHolders(db, { masterid: 20 })).to.have.length(1);
  });

  it('never grants an exclusive lock twice to acquirers racing on two database handles', async () => {
    const a = await h.open();
    const b = await h.connect();
    // Rounds of simultaneous acquires of one exclusive lock (and a counting lock of 2 beside it)
    // from two handles: exactly one wins each round, and the counting lock never exceeds 2.
    for (let round = 0; round < 15; round++) {
      const attempts = [a, b, a, b].map((db, i) =>
        acquireLocks(db, build(round * 10 + i, i % 2 === 0 ? 1 : 2), [master('solo', 'exclusive'), worker('pair', 1, 'counting', 2)]),
      );
      const outcomes = await Promise.all(attempts);
      expect(outcomes.filter((o) => o.acquired), `round ${round}`).to.have.length(1);
      const counting = await Promise.all([0, 1, 2].map((i) => acquireLocks(i % 2 ? a : b, build(round * 10 + 5 + i), [worker('pair', 1, 'counting', 2)])));
      expect(counting.filter((o) => o.acquired), `round ${round}`).to.have.length(1);
      const holders = await getLockHolders(a);
      expect(holders.filter((r) => r.lockname === 'solo')).to.have.length(1);
      expect(holders.filter((r) => r.lockname === 'pair')).to.have.length(2);
      for (const r of holders) await releaseBuildLocks(r.masterid === 1 ? a : b, r.buildid);
    }
  });
});
