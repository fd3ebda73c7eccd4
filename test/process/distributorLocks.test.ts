import { expect } from 'chai';
import { MasterLock, WorkerLock } from '../../lib/config/locks.js';
import type { ResolvedBuilder, ResolvedLockAccess, WorkerConfig } from '../../lib/config/resolved.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { getPendingRequests } from '../../lib/db/buildrequests.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { acquireLocks } from '../../lib/db/locks.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';
import { MessageBus } from '../../lib/master/bus.js';
import { Distributor, type WorkerPool } from '../../lib/process/distributor.js';
import { workerHandle } from '../../lib/process/handles.js';
import { lockRequests, releaseLocks } from '../../lib/process/locks.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';

const worker = (name: string): WorkerConfig => ({
  name, host: '127.0.0.1', port: 22, user: 'u', platform: 'posix', shell: 'sh', basedir: '/tmp/w', maxBuilds: 5,
  env: {}, properties: {}, keepaliveInterval: 15, connectTimeout: 20, maxSessions: 10,
});
const access = (a: unknown) => a as ResolvedLockAccess;

forEachDialect('Distributor with builder locks', (h) => {
  let distributor: Distributor | undefined;
  afterEach(async () => {
    await distributor?.stop();
  });

  it('does not start a build whose builder locks are taken: another worker gets it, or it waits for a release', async () => {
    const db = await h.open();
    const bus = new MessageBus();
    const masterid = await findOrCreateMaster(db, 'test:/master');
    const perHost = new WorkerLock('per-host');
    const global = new MasterLock('global', { maxCount: 2 });
    const locks = [access(perHost.access('exclusive')), access(global.access('counting'))];
    const config: ResolvedBuilder = { name: 'b', workernames: ['w1', 'w2'], steps: [], builddir: 'b', workerbuilddir: 'b', tags: [], properties: {}, defaultProperties: {}, env: {}, locks };
    const builderid = await findOrCreateBuilder(db, 'b');
    const [w1, w2] = [await findOrCreateWorker(db, 'w1'), await findOrCreateWorker(db, 'w2')];
    // Another build (say, on another master) holds w1's copy of the WorkerLock and one unit of the MasterLock.
    await acquireLocks(db, { buildid: 900, stepid: null, masterid: 99 }, lockRequests([locks[0]!], { workerid: w1, name: 'w1' }));
    await acquireLocks(db, { buildid: 901, stepid: null, masterid: 99 }, lockRequests([locks[1]!], { workerid: w2, name: 'w2' }));
    for (let i = 0; i < 3; i++) await addBuildset(db, { sourcestamps: [{}], reason: 'r', properties: {}, builderids: [builderid], submitted_at: 1000 + i });

    const configs = new Map([['w1', worker('w1')], ['w2', worker('w2')]]);
    const busy = new Set<string>();
    const pool: WorkerPool = { isAvailable: (n) => !busy.has(n), handle: (n) => workerHandle(configs.get(n)!, 0) };
    const started: string[] = [];
    distributor = new Distributor({
      db, bus, logger: silentLogger(), masterid, builders: [{ builderid, name: 'b', config }], workers: pool, pollIntervalMs: 60_000,
      startBuild: async (_b, w) => {
        busy.add(w.name);
        started.push(w.name);
        // The build takes its locks as Build does (here: at once).
        await acquireLocks(db, { buildid: started.length, stepid: null, masterid }, lockRequests(locks, { workerid: w.name === 'w1' ? w1 : w2, name: w.name }));
        return true;
      },
    });
    distributor.start();
    await distributor.idle();
    expect(started).to.deep.equal(['w2']);
    expect(await getPendingRequests(db)).to.have.length(2);

    // w1's WorkerLock comes free, but the MasterLock (2 units) is full: still nothing on w1.
    busy.delete('w2');
    await releaseLocks({ db, bus }, { buildid: 900, stepid: null });
    await distributor.idle();
    expect(started).to.deep.equal(['w2']);

    // A release of the MasterLock wakes the distributor (no poll within this test): the next build starts.
    await releaseLocks({ db, bus }, { buildid: 901, stepid: null });
    await distributor.idle();
    expect(started).to.have.length(2);
    expect(await getPendingRequests(db)).to.have.length(1);
  });
});
