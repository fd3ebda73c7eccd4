/**
 * `npm run bench -- gc`: the janitor on a big database. Seeds N old finished builds (default
 * 1,000,000: each with a buildset, request, claim, 2 steps, a log and a chunk per step, 2 build
 * properties and a build_data row: 15 rows a build), then deletes them all as the master's janitor
 * would (batches of at most --batch-size builds, aimed at --max-batch-ms, pausing as long as each
 * batch took), while a claim — the real claim statement on a request nobody builds — runs every
 * 50 ms on the same database handle. Reports rows deleted per second and the longest claim wait.
 * `--offline` deletes without pauses, as `buildmaster cleanupdb` does.
 */
import { appendFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { findOrCreateBuilder } from '../../../lib/db/builders.js';
import { claimRequests, unclaimRequests } from '../../../lib/db/buildrequests.js';
import { addBuildset } from '../../../lib/db/buildsets.js';
import { openDatabase, type Database } from '../../../lib/db/connection.js';
import { collectGarbage, databaseSize } from '../../../lib/db/janitor.js';
import { DEFAULT_MAX_BATCH_MS } from '../../../lib/db/janitorRun.js';
import { upgradeDatabase } from '../../../lib/db/migrate.js';
import { sleep } from '../../../lib/util/backoff.js';
import { machineDescription } from '../../support/procStats.js';
import { intOption } from '../options.js';
import type { BenchScenario } from '../types.js';
import { seedBuilds } from './seed.js';

const DAY = 86_400;

interface Probe {
  stop: () => Promise<{ n: number; maxMs: number; p99Ms: number; waits: { at: number; waitMs: number }[] }>;
}

/** A claim and its release in one transaction every `everyMs`, timing how long the transaction waited to start. */
async function startProbe(db: Database, everyMs: number): Promise<Probe> {
  const builderid = await findOrCreateBuilder(db, 'gc-probe-nobody-builds');
  const { brids } = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'probe', properties: {}, builderids: [builderid] });
  const brid = brids[builderid]!;
  const waits: { at: number; waitMs: number }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = performance.now();
      await db.transaction(async (t) => {
        waits.push({ at, waitMs: performance.now() - at });
        await claimRequests(db, [brid], 1, Math.floor(Date.now() / 1000), t);
        await unclaimRequests(db, [brid], 1, t);
      }, { driverOnly: true });
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const sorted = waits.map((w) => w.waitMs).sort((a, b) => a - b);
      return { n: waits.length, maxMs: sorted[sorted.length - 1] ?? 0, p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0, waits };
    },
  };
}

async function runGc(argv: string[], log: (l: string) => void): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      builds: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-batch-ms': { type: 'string' },
      'db-url': { type: 'string' },
      offline: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const builds = intOption('builds', values.builds, 1_000_000, 1);
  const batchSize = intOption('batch-size', values['batch-size'], 500, 1);
  const maxBatchMs = intOption('max-batch-ms', values['max-batch-ms'], DEFAULT_MAX_BATCH_MS, 1);
  const dir = await mkdtemp(join(tmpdir(), 'bm-bench-gc-'));
  const url = values['db-url'] ?? 'sqlite:///state.sqlite';
  const db = await openDatabase({ url, basedir: dir });
  try {
    await upgradeDatabase(db, { backup: false });
    const now = Math.floor(Date.now() / 1000);
    log(`gc: seeding ${builds} builds into ${db.description}`);
    const seedStart = performance.now();
    let lastLog = 0;
    await seedBuilds(db, {
      builds, startAt: now - 30 * DAY, spacing: 1, steps: 2, chunks: 1, props: 2, perTransaction: 5000,
      onProgress: (done) => {
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          log(`gc: seeded ${done}`);
        }
      },
    });
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const sizeBefore = await databaseSize(db, { analyze: true });
    log(`gc: seeded in ${seedSeconds.toFixed(0)} s, ${(sizeBefore / 2 ** 20).toFixed(0)} MiB; collecting (${values.offline ? 'offline' : 'as the master does'})`);
    const probe = await startProbe(db, 50);
    const holds: { startedAt: number; heldMs: number }[] = [];
    const started = performance.now();
    lastLog = 0;
    const result = await collectGarbage(db, {
      horizons: { buildHorizon: DAY },
      orphanGraceSeconds: 0,
      batchSize,
      maxBatchMs,
      ...(values.offline ? {} : { pause: (ms: number) => sleep(Math.max(5, ms)) }),
      onBatch: (b) => holds.push(b),
      onProgress: (p) => {
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          log(`gc: ${p.phase} ${p.done}, ${p.rows} rows`);
        }
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const claims = await probe.stop();
    // Of each claim's wait, the part spent while a janitor batch held the database.
    const behind = (w: { at: number; waitMs: number }) =>
      holds.reduce((a, h) => a + Math.max(0, Math.min(w.at + w.waitMs, h.startedAt + h.heldMs) - Math.max(w.at, h.startedAt)), 0);
    const held = holds.map((h) => h.heldMs).sort((a, b) => a - b);
    const sizeAfter = await databaseSize(db, { analyze: true });
    const file = db.caps.fileBackup ? (await stat(join(dir, 'state.sqlite'))).size : undefined;
    return {
      scenario: 'gc', date: new Date().toISOString(), machine: machineDescription(), db: db.dialect, builds, batchSize, maxBatchMs,
      mode: values.offline ? 'offline' : 'master', seedSeconds: +seedSeconds.toFixed(1), seconds: +seconds.toFixed(1),
      rowsDeleted: result.totalRows, rowsPerSecond: Math.round(result.totalRows / seconds), buildsPerSecond: Math.round((result.rows.builds ?? 0) / seconds),
      batches: result.batches, longestBatchMs: Math.round(result.longestBatchMs), p99BatchMs: Math.round(held[Math.floor(held.length * 0.99)] ?? 0),
      claims: claims.n, longestClaimWaitMs: Math.round(claims.maxMs), p99ClaimWaitMs: Math.round(claims.p99Ms),
      longestWaitBehindJanitorMs: Math.round(Math.max(0, ...claims.waits.map(behind))),
      sizeBefore, sizeAfter, fileSize: file, byTable: result.rows,
    };
  } finally {
    await db.close();
    if (!values.keep) await rm(dir, { recursive: true, force: true });
    else log(`gc: kept ${dir}`);
  }
}

export const scenario: BenchScenario = {
  name: 'gc',
  usage:
    'gc: the janitor deleting N old builds (15 rows each) while a claim runs every 50 ms: rows deleted per second and the longest claim wait. ' +
    'Options: --builds N (1000000), --batch-size N (500), --max-batch-ms MS (25), --offline (no pauses, as cleanupdb), --db-url URL (default a temp sqlite file; ' +
    'a MySQL URL must name an empty database), --keep.',
  byDefault: false,
  async run(ctx) {
    const r = await runGc(ctx.argv, ctx.log);
    await mkdir(dirname(ctx.out), { recursive: true });
    await appendFile(ctx.out, `${JSON.stringify(r)}\n`);
    ctx.print(
      [
        `gc (${r.db}, ${r.mode}): ${r.builds} builds seeded in ${r.seedSeconds} s`,
        `  deleted ${r.rowsDeleted} rows in ${r.seconds} s: ${r.rowsPerSecond} rows/s (${r.buildsPerSecond} builds/s), ${r.batches} batches, longest ${r.longestBatchMs} ms, p99 ${r.p99BatchMs} ms`,
        `  claims during the run: ${r.claims}, longest wait ${r.longestClaimWaitMs} ms (of it behind a janitor batch: ${r.longestWaitBehindJanitorMs} ms), p99 ${r.p99ClaimWaitMs} ms`,
        `  size ${r.sizeBefore} -> ${r.sizeAfter} bytes (sqlite: pages; freed pages are reused or given back by incremental vacuum)`,
      ].join('\n'),
    );
    return true;
  },
};
