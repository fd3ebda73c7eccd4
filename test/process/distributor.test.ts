import { expect } from 'chai';
import type { ResolvedBuilder, WorkerConfig } from '../../lib/config/resolved.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { claimRequests, getPendingRequests, getRequest, type BuildrequestRow } from '../../lib/db/buildrequests.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import type { Database } from '../../lib/db/connection.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { MessageBus } from '../../lib/master/bus.js';
import { Distributor, type DistributorBuilder, type WorkerPool } from '../../lib/process/distributor.js';
import { workerHandle, type BuilderHandle, type BuildRequestHandle, type WorkerHandle } from '../../lib/process/handles.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';

function workerConfig(name: string, maxBuilds: number): WorkerConfig {
  return {
    name, host: '127.0.0.1', port: 22, user: 'u', platform: 'posix', shell: 'sh', basedir: '/tmp/w', maxBuilds,
    env: {}, properties: { site: name }, keepaliveInterval: 15, connectTimeout: 20, maxSessions: 10,
  };
}

function builderConfig(name: string, workernames: string[], extra: Partial<ResolvedBuilder> = {}): ResolvedBuilder {
  return {
    name, workernames, steps: [], builddir: name, workerbuilddir: name, tags: [], properties: {}, defaultProperties: {},
    env: {}, locks: [], ...extra,
  };
}

/** Workers as the master's WorkerManager keeps them, in memory: capacity and per-builder busy. */
class FakePool implements WorkerPool {
  readonly running = new Map<string, number>();
  readonly busy = new Set<string>();
  readonly connected = new Set<string>();
  maxSeen = new Map<string, number>();
  constructor(readonly configs: Map<string, WorkerConfig>) {
    for (const n of configs.keys()) this.connected.add(n);
  }
  isAvailable(name: string, builderid: number): boolean {
    const c = this.configs.get(name);
    return !!c && this.connected.has(name) && (this.running.get(name) ?? 0) < c.maxBuilds && !this.busy.has(`${name}/${builderid}`);
  }
  handle(name: string): WorkerHandle | undefined {
    const c = this.configs.get(name);
    return c && workerHandle(c, this.running.get(name) ?? 0);
  }
  reserve(name: string, builderid: number): void {
    const n = (this.running.get(name) ?? 0) + 1;
    this.running.set(name, n);
    this.maxSeen.set(name, Math.max(this.maxSeen.get(name) ?? 0, n));
    this.busy.add(`${name}/${builderid}`);
  }
  release(name: string, builderid: number): void {
    this.running.set(name, (this.running.get(name) ?? 1) - 1);
    this.busy.delete(`${name}/${builderid}`);
  }
}

interface Started {
  builder: string;
  worker: string;
  brid: number;
  builderid: number;
}

forEachDialect('Distributor', (h) => {
  let db: Database;
  let bus: MessageBus;
  let masterid: number;
  let distributor: Distributor | undefined;
  let clock: number;

  beforeEach(async () => {
    db = await h.open();
    bus = new MessageBus();
    masterid = await findOrCreateMaster(db, 'test:/master');
    clock = 1_700_000_000;
  });
  afterEach(async () => {
    await distributor?.stop();
    distributor = undefined;
  });

  async function builders(...specs: [string, string[], Partial<ResolvedBuilder>?][]): Promise<DistributorBuilder[]> {
    const out: DistributorBuilder[] = [];
    for (const [name, workernames, extra] of specs) {
      out.push({ builderid: await findOrCreateBuilder(db, name), name, config: builderConfig(name, workernames, extra) });
    }
    return out;
  }

  /** One buildset per call, one request for the builder, submitted at an increasing time. */
  async function request(b: DistributorBuilder, props: Record<string, [unknown, string]> = {}): Promise<number> {
    clock += 10;
    const { brids } = await addBuildset(db, {
      sourcestamps: [{ codebase: '', repository: 'r', branch: 'main', revision: null, project: '' }],
      reason: 'test',
      properties: { scheduler: ['s', 'Scheduler'], ...props },
      builderids: [b.builderid],
      submitted_at: clock,
    });
    return brids[b.builderid];
  }

  function makeDistributor(bs: DistributorBuilder[], pool: FakePool, started: Started[], opts: { startBuild?: (s: Started) => boolean; prioritizeBuilders?: never; pollIntervalMs?: number; extra?: object } = {}): Distributor {
    distributor = new Distributor({
      db,
      bus,
      logger: silentLogger(),
      masterid,
      builders: bs,
      workers: pool,
      pollIntervalMs: opts.pollIntervalMs ?? 60_000,
      now: () => clock,
      startBuild: async (b, w, requests: BuildrequestRow[]) => {
        const s = { builder: b.name, worker: w.name, brid: requests[0].id, builderid: b.builderid };
        if (opts.startBuild && !opts.startBuild(s)) return false;
        pool.reserve(w.name, b.builderid);
        started.push(s);
        return true;
      },
      ...(opts.extra ?? {}),
    });
    return distributor;
  }

  it('serves the builder with the oldest pending request first and respects maxBuilds across builders', async () => {
    const [a, b] = await builders(['a', ['w1', 'w2']], ['b', ['w1', 'w2']]);
    const pool = new FakePool(new Map([['w1', workerConfig('w1', 1)], ['w2', workerConfig('w2', 1)]]));
    const bReq = await request(b); // b's request is older
    const aReq = await request(a);
    await request(a);
    const started: Started[] = [];
    const d = makeDistributor([a, b], pool, started);
    d.start();
    await d.idle();

    expect(started.map((s) => s.brid)).to.deep.equal([bReq, aReq]);
    expect(new Set(started.map((s) => s.worker)).size).to.equal(2);
    expect([...pool.maxSeen.values()].every((n) => n <= 1)).to.equal(true);
    // Both claimed by us; the third waits for a free worker.
    for (const s of started) expect((await getRequest(db, s.brid))?.claimed_by_masterid).to.equal(masterid);
    expect(await getPendingRequests(db)).to.have.length(1);
  });

  it('starts a builder\'s requests by highest priority, then oldest (default nextBuild, request priority)', async () => {
    const [a] = await builders(['a', ['w1', 'w2', 'w3']]);
    const pool = new FakePool(new Map(['w1', 'w2', 'w3'].map((n) => [n, workerConfig(n, 1)])));
    const withPriority = async (priority: number): Promise<number> => {
      clock += 10;
      const { brids } = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'test', properties: {}, builderids: [a.builderid], submitted_at: clock, priority });
      return brids[a.builderid]!;
    };
    const oldLow = await withPriority(0);
    const high1 = await withPriority(5);
    const high2 = await withPriority(5);
    const newLow = await withPriority(0);
    const started: Started[] = [];
    const d = makeDistributor([a], pool, started);
    d.start();
    await d.idle();

    expect(started.map((s) => s.brid)).to.deep.equal([high1, high2, oldLow]);
    expect((await getPendingRequests(db)).map((r) => r.id)).to.deep.equal([newLow]);
  });

  it('runs one build per builder per worker, but several builders on one worker up to maxBuilds', async () => {
    const [a, b, c] = await builders(['a', ['w1']], ['b', ['w1']], ['c', ['w1']]);
    const pool = new FakePool(new Map([['w1', workerConfig('w1', 2)]]));
    for (const x of [a, a, b, c]) await request(x);
    const started: Started[] = [];
    const d = makeDistributor([a, b, c], pool, started);
    d.start();
    await d.idle();
    expect(started.map((s) => s.builder)).to.deep.equal(['a', 'b']);
    expect(pool.maxSeen.get('w1')).to.equal(2);

    // A build of `a` finishes: the next pass starts the other request of `a` (older than c's).
    pool.release('w1', a.builderid);
    bus.publish(['builds', '1', 'finished'], {});
    await d.idle();
    expect(started.map((s) => s.builder)).to.deep.equal(['a', 'b', 'a']);
  });

  it('moves on after losing a claim to another master', async () => {
    const [a] = await builders(['a', ['w1', 'w2']]);
    const pool = new FakePool(new Map([['w1', workerConfig('w1', 1)], ['w2', workerConfig('w2', 1)]]));
    const first = await request(a);
    const second = await request(a);
    const other = await findOrCreateMaster(db, 'other:/master');
    let stolen = false;
    const started: Started[] = [];
    const d = makeDistributor([a], pool, started, {
      extra: {
        // Another master claims the request we are about to claim, right after we chose it.
        builders: [{ ...a, config: builderConfig('a', ['w1', 'w2'], {
          nextBuild: async (_b: BuilderHandle, reqs: BuildRequestHandle[]) => {
            if (!stolen) {
              stolen = true;
              await claimRequests(db, [reqs[0].id], other, clock);
            }
            return reqs[0];
          },
        }) }],
      },
    });
    d.start();
    await d.idle();
    expect(started.map((s) => s.brid)).to.deep.equal([second]);
    expect((await getRequest(db, first))?.claimed_by_masterid).to.equal(other);
    expect((await getRequest(db, second))?.claimed_by_masterid).to.equal(masterid);
  });

  it('gives nextWorker, nextBuild and canStartBuild Buildbot-like arguments', async () => {
    const seen: { workers?: string[]; buildername?: string; prop?: unknown; source?: unknown; refused: string[] } = { refused: [] };
    const [a] = await builders(['a', ['w1', 'w2', 'w3'], {
      nextBuild: (_b, reqs: BuildRequestHandle[]) => reqs[reqs.length - 1], // newest first
      nextWorker: (_b, workers: WorkerHandle[], req: BuildRequestHandle) => {
        // The first call: all three offered, for the newest request.
        seen.workers ??= workers.map((w) => w.worker.workername);
        seen.buildername ??= req.buildername;
        seen.prop ??= req.properties.getProperty('wanted');
        seen.source ??= req.sources[''].branch;
        return workers.find((w) => w.name === 'w1') ?? workers[0];
      },
      canStartBuild: (_b, w: WorkerHandle, req: BuildRequestHandle) => {
        const ok = w.name === req.properties.getProperty('wanted');
        if (!ok) seen.refused.push(w.name);
        return ok;
      },
    }]);
    const pool = new FakePool(new Map(['w1', 'w2', 'w3'].map((n) => [n, workerConfig(n, 1)])));
    await request(a, { wanted: ['w3', 'Force Build Form'] });
    const newest = await request(a, { wanted: ['w2', 'Force Build Form'] });
    const started: Started[] = [];
    const d = makeDistributor([a], pool, started);
    d.start();
    await d.idle();
    expect(seen.buildername).to.equal('a');
    expect(seen.workers).to.have.members(['w1', 'w2', 'w3']);
    expect(seen.prop).to.equal('w2');
    expect(seen.source).to.equal('main');
    expect(seen.refused[0]).to.equal('w1'); // nextWorker's pick, refused by canStartBuild
    expect(started[0]).to.include({ brid: newest, worker: 'w2' });
  });

  it('follows prioritizeBuilders', async () => {
    const [a, b] = await builders(['a', ['w1']], ['b', ['w1']]);
    const pool = new FakePool(new Map([['w1', workerConfig('w1', 1)]]));
    await request(a);
    const bReq = await request(b);
    let offered: string[] = [];
    const started: Started[] = [];
    const d = makeDistributor([a, b], pool, started, {
      extra: {
        master: { marker: true },
        prioritizeBuilders: (master: { marker?: boolean }, bs: BuilderHandle[]) => {
          expect(master.marker).to.equal(true);
          offered = bs.map((x) => x.name);
          return [...bs].reverse();
        },
      },
    });
    d.start();
    await d.idle();
    expect(offered).to.deep.equal(['a', 'b']); // default order first: a's request is older
    expect(started.map((s) => s.brid)).to.deep.equal([bReq]);
  });

  it('unclaims a request whose build could not start', async () => {
    const [a] = await builders(['a', ['w1']]);
    const pool = new FakePool(new Map([['w1', workerConfig('w1', 1)]]));
    const brid = await request(a);
    const started: Started[] = [];
    let attempts = 0;
    const unclaimed = bus.waitFor(['buildrequests', String(brid), 'unclaimed'], () => true, 10_000);
    const d = makeDistributor([a], pool, started, {
      startBuild: () => {
        attempts++;
        pool.connected.delete('w1'); // the worker went away meanwhile
        return false;
      },
    });
    d.start();
    await unclaimed;
    await d.idle();
    expect(attempts).to.equal(1);
    expect((await getRequest(db, brid))?.claimed_by_masterid).to.equal(null);
    expect(await getPendingRequests(db)).to.have.length(1);
  });

  it('wakes on bus events, coalescing them, and polls for requests other processes add', async () => {
    const [a] = await builders(['a', ['w1']]);
    const pool = new FakePool(new Map([['w1', workerConfig('w1', 5)]]));
    const started: Started[] = [];
    const d = makeDistributor([a], pool, started);
    d.start();
    await d.idle();
    const before = d.passes;
    for (let i = 0; i < 50; i++) bus.publish(['buildrequests', String(i), 'new'], {});
    await d.idle();
    expect(d.passes - before).to.be.at.most(2);

    // A request nobody announces on this bus: only the poll finds it.
    await d.stop();
    const brid = await request(a);
    const polling = makeDistributor([a], pool, started, { pollIntervalMs: 50 });
    polling.start();
    await polling.idle(); // the first pass, at start, already takes it
    expect(started.map((s) => s.brid)).to.include(brid);
    pool.release('w1', a.builderid);
    const late = await request(a);
    const t0 = Date.now();
    while (!started.some((s) => s.brid === late) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(started.map((s) => s.brid)).to.include(late);
  });

  it('stops claiming once stopped', async () => {
    const [a] = await builders(['a', ['w1']]);
    const pool = new FakePool(new Map([['w1', workerConfig('w1', 1)]]));
    const started: Started[] = [];
    const d = makeDistributor([a], pool, started);
    d.start();
    await d.stop();
    await request(a);
    bus.publish(['buildrequests', '1', 'new'], {});
    d.wake();
    await d.idle();
    expect(started).to.deep.equal([]);
  });
});
