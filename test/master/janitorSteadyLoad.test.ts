import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { claimRequests, unclaimRequests } from '../../lib/db/buildrequests.js';
import type { Database } from '../../lib/db/connection.js';
import { databaseSize } from '../../lib/db/janitor.js';
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
 * 50 ms on the master's own database handle — must never wait more than 100 ms for its
 * transaction while the janitor runs. Slow (about 2.5 minutes per dialect).
 */
const SECONDS = Number(process.env.BM_JANITOR_LOAD_SECONDS ?? 120);
const FORCE_EVERY_MS = 100;
const PROBE_EVERY_MS = 50;
const CLAIM_BOUND_MS = 100;
const TICK_MS = 5;

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
    janitor.runIfDue = async (force?: boolean) => {
      const w: (typeof runs)[number] = { start: performance.now() };
      const report = await runIfDue(force);
      if (!report) return report;
      Object.assign(w, { end: performance.now(), rows: report.totalRows, longestBatchMs: report.longestBatchMs });
      runs.push(w);
      return report;
    };

    // Every batch's hold on the database.
    const holds: { startedAt: number; heldMs: number }[] = [];
    janitor.onBatch = (b) => holds.push(b);

    // The probe: a request on a builder no master serves, claimed and released in one transaction.
    const probeBuilder = await findOrCreateBuilder(db, 'probe-nobody-builds');
    const { brids } = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'probe', properties: {}, builderids: [probeBuilder] });
    const brid = brids[probeBuilder]!;
    const probes: { at: number; waitMs: number }[] = [];
    let stopProbe = false;
    const probing = (async () => {
      while (!stopProbe) {
        const at = performance.now();
        let waitMs = 0;
        await db.transaction(async (t) => {
          waitMs = performance.now() - at;
          const got = await claimRequests(db, [brid], m.masterid, Math.floor(Date.now() / 1000), t);
          if (got.claimed.length !== 1) throw new Error('the probe request could not be claimed');
          await unclaimRequests(db, [brid], m.masterid, t);
        }, { driverOnly: true });
        probes.push({ at, waitMs });
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
    const dbWait = (p: { at: number; waitMs: number }) => p.waitMs - stalledIn(p.at, p.at + p.waitMs);
    const worstDbWaitDuring = Math.max(0, ...during.map(dbWait));
    if (process.env.BM_JANITOR_LOAD_DEBUG) {
      for (const p of [...during].sort((a, b) => b.waitMs - a.waitMs).slice(0, 5)) {
        const near = holds.filter((h) => h.startedAt < p.at + p.waitMs && h.startedAt + h.heldMs > p.at - 200).map((h) => [Math.round(h.startedAt - p.at), Math.round(h.heldMs)]);
        console.log(`      slow probe: wait ${Math.round(p.waitMs)} ms, stalled ${Math.round(stalledIn(p.at, p.at + p.waitMs))}, behind janitor ${Math.round(behind(p))}, holds near [start rel, ms]: ${JSON.stringify(near)}`);
      }
    }
    const pct = (xs: number[], q: number) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!) : 0);
    const outside = probes.filter((p) => !during.includes(p));
    const deleted = runs.reduce((a, r) => a + (r.rows ?? 0), 0);
    const summary = {
      dialect: h.dialect, forced, forceErrors, buildsLeft: Number(builds), janitorRuns: runs.length, rowsDeleted: deleted,
      longestBatchMs: Math.round(Math.max(0, ...runs.map((r) => r.longestBatchMs ?? 0))),
      probes: probes.length, probesDuringJanitor: during.length, worstClaimWaitDuringMs: Math.round(worstDuring), worstDbWaitDuringMs: Math.round(worstDbWaitDuring), worstBehindJanitorMs: Math.round(worstBehind), janitorBatches: holds.length, worstClaimWaitMs: Math.round(worstAll),
      p99During: pct(during.map((p) => p.waitMs), 0.99), p99Outside: pct(outside.map((p) => p.waitMs), 0.99), worstOutside: pct(outside.map((p) => p.waitMs), 1),
      eventLoopDelayMaxMs: Math.round(loopDelay.max / 1e6), eventLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e6),
      sizeAtHalf, sizeAtEnd, ratio: +(sizeAtEnd / sizeAtHalf).toFixed(3),
    };
    console.log(`      ${JSON.stringify(summary)}`);

    expect(forceErrors).to.equal(0);
    expect(runs.length, 'janitor runs').to.be.greaterThan(5);
    expect(deleted, 'rows deleted').to.be.greaterThan(0);
    expect(during.length, 'probes while the janitor ran').to.be.greaterThan(0);
    // No claim waited more than the bound behind a janitor batch (sqlite: a batch holds the write lock;
    // MySQL: it locks only the old rows it deletes, which no claim touches).
    if (db.caps.singleWriter) expect(worstBehind, 'longest part of a claim wait spent behind janitor batches (ms)').to.be.at.most(CLAIM_BOUND_MS);
    // The bound, on the wait the database caused: the wall-clock wait less the time this process
    // was not running at all (summary.worstClaimWaitDuringMs has the raw figure).
    expect(worstDbWaitDuring, 'longest claim wait while the janitor ran, event-loop stalls excluded (ms)').to.be.at.most(CLAIM_BOUND_MS);
    // sqlite: what the janitor holds the write lock for, per batch, is what a claim can wait behind it.
    // (MySQL claims do not wait for its batches at all: they lock other rows.)
    if (db.caps.singleWriter) expect(summary.longestBatchMs, 'longest janitor batch (ms)').to.be.at.most(CLAIM_BOUND_MS);
    expect(sizeAtEnd, `size at the end (${sizeAtEnd}) vs at ${SECONDS / 2} s (${sizeAtHalf})`).to.be.at.most(1.2 * sizeAtHalf);
  });
});
