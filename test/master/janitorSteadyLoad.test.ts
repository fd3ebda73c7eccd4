import { expect } from 'chai';
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { claimRequests, unclaimRequests } from '../../lib/db/buildrequests.js';
import type { Database } from '../../lib/db/connection.js';
import { databaseSize } from '../../lib/db/janitor.js';
import type { Mutex } from '../../lib/db/mutex.js';
import { select } from '../../lib/db/query.js';
import { Master } from '../../lib/master/master.js';
import { forEachDialect } from '../support/databases.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { configSource, makeMasterDir, removeDir, trust, type ConfigSpec } from './masterDir.js';

/**
 * The janitor under steady load (issue 8): a real master forces a build every 100 ms for 2 minutes
 * (BM_JANITOR_LOAD_SECONDS shortens it) with a 30 s build and log horizon and a 2 s janitor
 * interval. The database must stop growing once the horizon is reached (size at the end ≤ 1.2× the
 * size at the half), and a claim — the real claim statement, on a request no builder serves, every
 * 50 ms on the master's own database handle — must never wait more than 100 ms behind the
 * janitor. Slow (about 2.5 minutes per dialect).
 *
 * What "behind the janitor" is, measured so that a busy machine does not count against the janitor:
 * - sqlite: every write of this process queues on one FIFO write lock (lib/db/mutex.ts). Each hold
 *   is recorded (asked, got, released; the janitor's own — batches, vacuum steps, lease updates —
 *   tagged). In a FIFO queue, leaving the janitor's holds out would shorten a claim's wait by at
 *   most the janitor's holds since the queue was last empty before the claim asked (its busy
 *   period: this counts the backlog a batch leaves behind it too), and by at most the wait itself.
 *   That bound must stay within 100 ms for every claim. Time the machine takes the CPU away from
 *   the master's own writes (2 cores, shared) is not the janitor's.
 * - MySQL: the janitor locks only the old rows it deletes; a claim that waited for one of its row
 *   locks would wait in its statements. The claim is timed until the claim statement returns, less
 *   the time this process's event loop did not run at all.
 */
const SECONDS = Number(process.env.BM_JANITOR_LOAD_SECONDS ?? 120);
const FORCE_EVERY_MS = 100;
const PROBE_EVERY_MS = 50;
const CLAIM_BOUND_MS = 100;
const TICK_MS = 5;

/** One hold of the sqlite write lock: when it was asked for, got, and let go (performance.now()). */
interface Hold {
  asked: number;
  got: number;
  released: number;
  janitor: boolean;
  probe: boolean;
}

/**
 * Records every hold of the database's write lock (sqlite), tagging the janitor's and the probe's
 * by the async context that asked. FIFO, so holds come in the order asked.
 */
function recordWriteLock(db: Database, janitorCtx: AsyncLocalStorage<true>, probeCtx: AsyncLocalStorage<true>): Hold[] {
  const holds: Hold[] = [];
  const lock = (db as unknown as { writeLock?: Mutex }).writeLock;
  if (!db.caps.singleWriter || !lock) return holds;
  const original = lock.lock.bind(lock);
  lock.lock = async () => {
    const h: Hold = { asked: performance.now(), got: Infinity, released: Infinity, janitor: janitorCtx.getStore() === true, probe: probeCtx.getStore() === true };
    holds.push(h);
    const release = await original();
    h.got = performance.now();
    return () => {
      if (h.released === Infinity) h.released = performance.now();
      release();
    };
  };
  return holds;
}

/**
 * For each probe hold: how much shorter its wait could have been without the janitor's holds: the
 * janitor's hold time in the probe's busy period before it got the lock, at most its wait.
 */
function janitorShare(holds: readonly Hold[]): { wait: number; share: number; asked: number }[] {
  const out: { wait: number; share: number; asked: number }[] = [];
  for (let i = 0; i < holds.length; i++) {
    const p = holds[i]!;
    if (!p.probe || p.got === Infinity) continue;
    let share = 0;
    let since = p.asked;
    // FIFO: the hold asked just before is the last to be released of all asked before.
    for (let j = i - 1; j >= 0 && holds[j]!.released >= since; j--) {
      const h = holds[j]!;
      since = h.asked;
      if (h.janitor) share += h.released - h.got;
    }
    const wait = p.got - p.asked;
    out.push({ wait, share: Math.min(wait, share), asked: p.asked });
  }
  return out;
}

async function sizeOf(db: Database): Promise<number> {
  if (!db.caps.supportsVacuum) {
    // InnoDB's sizes are statistics: refresh them first.
    const tables = await select<{ name: string }>(db, db.caps.listTablesQuery);
    await select(db, `ANALYZE TABLE ${tables.map((t) => t.name).join(', ')}`);
  }
  return databaseSize(db);
}

forEachDialect('janitor under steady load (real master, real sshd)', (h) => {
  let sshd: Sshd | undefined;
  let master: Master | undefined;
  let dir: string | undefined;

  before(async function () {
    sshd = await startSshd(this, { users: 2 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    master = undefined;
    await removeDir(dir);
    dir = undefined;
  });

  it(`a build every ${FORCE_EVERY_MS} ms for ${SECONDS} s, horizon 30 s: the DB stops growing and no claim waits over ${CLAIM_BOUND_MS} ms`, async function () {
    this.timeout((SECONDS + 150) * 1000);
    this.slow((SECONDS + 30) * 1000);
    const s = sshd!;
    const worker = (i: number) => ({ name: `w${i + 1}`, port: s.port, user: s.users[i]!.name, privateKeyFile: s.users[i]!.privateKeyPath, basedir: join(s.users[i]!.home, 'wk'), maxBuilds: 4 });
    const spec: ConfigSpec = {
      workers: [worker(0), worker(1)],
      builders: [{ name: 'steady', workernames: ['w1', 'w2'], command: 'echo built' }],
      extra: `janitor: { buildHorizon: 30, logHorizon: 30, signatureHorizon: 30, changeHorizon: 100, interval: 2, maxBatchMs: 25 },`,
    };
    dir = await makeMasterDir(spec);
    if (h.dialect === 'mysql') {
      await h.open(); // migrates the throwaway database
      await writeFile(join(dir, 'master.config.ts'), configSource(spec).replace('sqlite:///state.sqlite', h.url()));
    }
    await trust(dir, '127.0.0.1', s.port, s.hostPublicKeyLine);
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 }, pollIntervalMs: 200 });
    const m = master;
    const db = m.db;

    // Janitor runs, as [start, end] windows.
    const runs: { start: number; end?: number; rows?: number; longestBatchMs?: number }[] = [];
    const janitor = m.janitor!;
    const runIfDue = janitor.runIfDue.bind(janitor);
    const janitorCtx = new AsyncLocalStorage<true>();
    const probeCtx = new AsyncLocalStorage<true>();
    janitor.runIfDue = (force?: boolean) =>
      janitorCtx.run(true, async () => {
        const w: (typeof runs)[number] = { start: performance.now() };
        const report = await runIfDue(force);
        if (!report) return report;
        Object.assign(w, { end: performance.now(), rows: report.totalRows, longestBatchMs: report.longestBatchMs });
        runs.push(w);
        return report;
      });
    const lockHolds = recordWriteLock(db, janitorCtx, probeCtx);

    // Every batch's hold on the database.
    const holds: { startedAt: number; heldMs: number }[] = [];
    janitor.onBatch = (b) => holds.push(b);

    // The probe: a request on a builder no master serves, claimed and released in one transaction.
    const probeBuilder = await findOrCreateBuilder(db, 'probe-nobody-builds');
    const { brids } = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'probe', properties: {}, builderids: [probeBuilder] });
    const brid = brids[probeBuilder]!;
    // waitMs: until it has the database (its transaction began); claimMs: until the claim statement
    // returned (MySQL: a row lock the janitor held would be waited for there).
    const probes: { at: number; waitMs: number; claimMs: number }[] = [];
    let stopProbe = false;
    const probing = (async () => {
      while (!stopProbe) {
        const at = performance.now();
        let waitMs = 0;
        let claimMs = 0;
        await probeCtx.run(true, () =>
          db.transaction(async (t) => {
            waitMs = performance.now() - at;
            const got = await claimRequests(db, [brid], m.masterid, Math.floor(Date.now() / 1000), t);
            claimMs = performance.now() - at;
            if (got.claimed.length !== 1) throw new Error('the probe request could not be claimed');
            await unclaimRequests(db, [brid], m.masterid, t);
          }, { driverOnly: true }),
        );
        probes.push({ at, waitMs, claimMs });
        await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
      }
    })();

    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // The master's event loop, ticking every 5 ms: a longer gap is time in which no JavaScript of
    // this process ran (the CPU was elsewhere: 2 cores, shared), which no database design can help.
    const ticks: number[] = [];
    const ticker = setInterval(() => ticks.push(performance.now()), TICK_MS);
    const started = performance.now();
    let forced = 0;
    let forceErrors = 0;
    let sizeAtHalf = 0;
    const forcing: Promise<unknown>[] = [];
    while (performance.now() - started < SECONDS * 1000) {
      const next = started + (forced + 1) * FORCE_EVERY_MS;
      forcing.push(m.force('force', { reason: `steady ${forced}` }).catch(() => void forceErrors++));
      forced++;
      if (!sizeAtHalf && performance.now() - started >= (SECONDS / 2) * 1000) sizeAtHalf = await sizeOf(db);
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await Promise.all(forcing);
    const sizeAtEnd = await sizeOf(db);
    stopProbe = true;
    await probing;

    const builds = (await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM builds'))[0]!.n;
    const during = probes.filter((p) => runs.some((r) => p.at + p.waitMs >= r.start && p.at <= (r.end ?? Infinity)));
    const worstDuring = Math.max(0, ...during.map((p) => p.waitMs));
    const worstAll = Math.max(0, ...probes.map((p) => p.waitMs));
    /** How long of its wait a probe spent while a janitor batch held the database. */
    const behind = (p: { at: number; waitMs: number }) =>
      holds.reduce((a, h) => a + Math.max(0, Math.min(p.at + p.waitMs, h.startedAt + h.heldMs) - Math.max(p.at, h.startedAt)), 0);
    const worstBehind = Math.max(0, ...probes.map(behind));
    loopDelay.disable();
    clearInterval(ticker);
    /** Of the interval [a, b], the time the event loop was stalled (tick gaps beyond TICK_MS). */
    const stalledIn = (a: number, b: number) => {
      let sum = 0;
      for (let i = 1; i < ticks.length; i++) {
        const excessFrom = ticks[i - 1]! + TICK_MS;
        const to = ticks[i]!;
        if (to <= a || excessFrom >= b) continue;
        sum += Math.max(0, Math.min(to, b) - Math.max(excessFrom, a));
      }
      return sum;
    };
    const dbWait = (p: { at: number; claimMs: number }) => p.claimMs - stalledIn(p.at, p.at + p.claimMs);
    const worstDbWaitDuring = Math.max(0, ...during.map(dbWait));
    const shares = janitorShare(lockHolds);
    const worstShare = shares.reduce((a, x) => (x.share > a.share ? x : a), { wait: 0, share: 0, asked: 0 });
    if (process.env.BM_JANITOR_LOAD_DEBUG) {
      for (const p of [...during].sort((a, b) => b.waitMs - a.waitMs).slice(0, 5)) {
        const near = holds.filter((h) => h.startedAt < p.at + p.waitMs && h.startedAt + h.heldMs > p.at - 200).map((h) => [Math.round(h.startedAt - p.at), Math.round(h.heldMs)]);
        console.log(`      slow probe: wait ${Math.round(p.waitMs)} ms, stalled ${Math.round(stalledIn(p.at, p.at + p.waitMs))}, behind janitor ${Math.round(behind(p))}, holds near [start rel, ms]: ${JSON.stringify(near)}`);
      }
      for (const x of [...shares].sort((a, b) => b.wait - a.wait).slice(0, 5)) console.log(`      slow lock wait: ${Math.round(x.wait)} ms, janitor's share ≤ ${Math.round(x.share)} ms`);
    }
    const pct = (xs: number[], q: number) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!) : 0);
    const outside = probes.filter((p) => !during.includes(p));
    const deleted = runs.reduce((a, r) => a + (r.rows ?? 0), 0);
    const summary = {
      dialect: h.dialect, forced, forceErrors, buildsLeft: Number(builds), janitorRuns: runs.length, rowsDeleted: deleted,
      longestBatchMs: Math.round(Math.max(0, ...runs.map((r) => r.longestBatchMs ?? 0))),
      probes: probes.length, probesDuringJanitor: during.length, worstClaimWaitDuringMs: Math.round(worstDuring), worstDbWaitDuringMs: Math.round(worstDbWaitDuring), worstBehindJanitorMs: Math.round(worstBehind), worstJanitorShareMs: Math.round(worstShare.share), worstJanitorShareOfWaitMs: Math.round(worstShare.wait), lockHolds: lockHolds.length, janitorBatches: holds.length, worstClaimWaitMs: Math.round(worstAll),
      p99During: pct(during.map((p) => p.waitMs), 0.99), p99Outside: pct(outside.map((p) => p.waitMs), 0.99), worstOutside: pct(outside.map((p) => p.waitMs), 1),
      eventLoopDelayMaxMs: Math.round(loopDelay.max / 1e6), eventLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e6),
      sizeAtHalf, sizeAtEnd, ratio: +(sizeAtEnd / sizeAtHalf).toFixed(3),
    };
    console.log(`      ${JSON.stringify(summary)}`);

    expect(forceErrors).to.equal(0);
    expect(runs.length, 'janitor runs').to.be.greaterThan(5);
    expect(deleted, 'rows deleted').to.be.greaterThan(0);
    expect(during.length, 'probes while the janitor ran').to.be.greaterThan(0);
    // The bound on the wait the janitor caused (summary.worstClaimWaitDuringMs has the raw figure).
    if (db.caps.singleWriter) {
      expect(shares.length, 'probe holds of the write lock recorded').to.be.at.least(probes.length);
      expect(lockHolds.some((x) => x.janitor), 'janitor holds of the write lock recorded').to.equal(true);
      // No claim waited more than the bound behind janitor batches, nor behind the backlog they left.
      expect(worstBehind, 'longest part of a claim wait spent behind janitor batches (ms)').to.be.at.most(CLAIM_BOUND_MS);
      expect(worstShare.share, `longest a claim waited because of the janitor's holds of the write lock (its wait: ${Math.round(worstShare.wait)} ms)`).to.be.at.most(CLAIM_BOUND_MS);
      // What the janitor holds the write lock for, per batch, is what a claim can wait behind it.
      expect(summary.longestBatchMs, 'longest janitor batch (ms)').to.be.at.most(CLAIM_BOUND_MS);
    } else {
      // The claim, through its statement (row-lock waits included), less the time this process was
      // not running at all.
      expect(worstDbWaitDuring, 'longest claim while the janitor ran, event-loop stalls excluded (ms)').to.be.at.most(CLAIM_BOUND_MS);
    }
    expect(sizeAtEnd, `size at the end (${sizeAtEnd}) vs at ${SECONDS / 2} s (${sizeAtHalf})`).to.be.at.most(1.2 * sizeAtHalf);
  });
});
