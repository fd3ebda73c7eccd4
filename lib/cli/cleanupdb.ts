import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadConfig } from '../config/loader.js';
import { openDatabase } from '../db/connection.js';
import { collectGarbage, databaseSize, type CollectResult } from '../db/janitor.js';
import { acquireLease, readCursors, releaseLease } from '../db/janitorLease.js';
import type { Progress } from '../db/janitorRun.js';
import { autoVacuumMode, vacuum } from '../db/janitorVacuum.js';
import { assertSchemaCurrent } from '../db/migrate.js';
import { UsageError } from '../errors/index.js';
import { horizonsOf, JANITOR_DEFAULTS } from '../master/janitor.js';
import { masterPaths } from '../master/paths.js';
import { runningPid } from '../master/pidFile.js';
import type { Output } from './output.js';

export interface CleanupdbOptions {
  quiet?: boolean;
  dryRun?: boolean;
  /** Skip the sqlite VACUUM at the end. */
  vacuum?: boolean;
  /** Accepted for Buildbot compatibility (its log recompression); no effect. */
  force?: boolean;
  /** 'bar' redraws one line (a terminal); 'lines' prints a line per phase and every few seconds. */
  progress?: 'bar' | 'lines';
}

export interface CleanupdbSummary {
  result: CollectResult;
  sizeBefore: number;
  sizeAfter: number;
  bytesFreed: number;
  vacuumed: boolean;
}

const LINE_EVERY_MS = 5_000;

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Writes progress: a redrawn bar on a terminal, plain lines elsewhere (logs, CI). */
function progressWriter(out: Output, mode: 'bar' | 'lines', quiet: boolean): { update: (p: Progress) => void; end: () => void } {
  let phase = '';
  let lastLine = 0;
  let drawn = false;
  const text = (p: Progress) => `${p.phase}: ${p.done}${p.total !== undefined ? `/${p.total}` : ''}, ${p.rows} rows`;
  return {
    update(p) {
      if (quiet) return;
      if (mode === 'bar') {
        const frac = p.total ? Math.min(1, p.done / p.total) : undefined;
        const width = 30;
        const bar = frac === undefined ? '' : `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${String(Math.round(frac * 100)).padStart(3)}% `;
        if (p.phase !== phase && drawn) out.stdout('\n');
        out.stdout(`\r${bar}${text(p)}\x1b[K`);
        drawn = true;
      } else if (p.phase !== phase || Date.now() - lastLine >= LINE_EVERY_MS) {
        out.stdout(`${text(p)}\n`);
        lastLine = Date.now();
      }
      phase = p.phase;
    },
    end() {
      if (drawn) out.stdout('\n');
    },
  };
}

/**
 * Runs the janitor once, now, with the horizons of master.config.ts, then (sqlite) VACUUMs the
 * file, switching it to incremental auto-vacuum so the running master can give space back from then
 * on. Refuses while the master of this directory runs (its sqlite file would be rewritten under
 * it); on MySQL other masters may run, and the janitor lease keeps theirs from running meanwhile.
 */
export async function cleanupdb(dir: string, opts: CleanupdbOptions, out: Output): Promise<CleanupdbSummary> {
  const paths = masterPaths(dir);
  if (!existsSync(paths.config)) throw new UsageError(`${paths.basedir} is not a master directory: ${paths.config} does not exist`);
  const pid = runningPid(paths.pidFile);
  if (pid !== undefined) throw new UsageError(`the master in ${paths.basedir} is running (pid ${pid}); stop it first (its janitor runs by itself every janitor.interval)`);
  const { config } = await loadConfig(paths.config);
  const db = await openDatabase({ url: config.db.url, basedir: paths.basedir });
  const quiet = opts.quiet ?? false;
  try {
    await assertSchemaCurrent(db);
    const horizons = horizonsOf(config.janitor) ?? {};
    if (Object.keys(horizons).length === 0) out.info('no janitor horizons in the config: only orphans are removed', quiet);
    const now = Math.floor(Date.now() / 1000);
    const lease = await acquireLease(db, null, { now, leaseSeconds: 24 * 3600, intervalSeconds: 0, force: true });
    if (!lease.acquired) throw new UsageError(`master ${lease.holder} is running the janitor now (lease until ${new Date(lease.expiresAt * 1000).toISOString()}); try again later`);
    const sizeBefore = await databaseSize(db, { analyze: true });
    const progress = progressWriter(out, opts.progress ?? 'lines', quiet);
    let result: CollectResult;
    try {
      result = await collectGarbage(db, {
        horizons,
        cursors: await readCursors(db),
        dryRun: opts.dryRun ?? false,
        batchSize: config.janitor.batchSize ?? JANITOR_DEFAULTS.batchSize,
        // Offline: bigger batches and no pauses.
        maxBatchMs: Math.max(config.janitor.maxBatchMs ?? JANITOR_DEFAULTS.maxBatchMs, 500),
        estimate: true,
        onProgress: (p) => progress.update(p),
      });
    } finally {
      progress.end();
    }
    await releaseLease(db, null, Math.floor(Date.now() / 1000), opts.dryRun ? undefined : result.cursors);
    let vacuumed = false;
    if (!opts.dryRun && opts.vacuum !== false && db.caps.supportsVacuum) {
      const mode = await autoVacuumMode(db);
      out.info(mode === 'incremental' ? 'vacuuming the database file' : 'vacuuming the database file (and switching it to incremental auto-vacuum)', quiet);
      await vacuum(db, { incremental: true });
      vacuumed = true;
    }
    const sizeAfter = await databaseSize(db, { analyze: true });
    const summary: CleanupdbSummary = { result, sizeBefore, sizeAfter, bytesFreed: Math.max(0, sizeBefore - sizeAfter), vacuumed };
    printSummary(out, summary, opts.dryRun ?? false, quiet);
    return summary;
  } finally {
    await db.close();
  }
}

function printSummary(out: Output, s: CleanupdbSummary, dryRun: boolean, quiet: boolean): void {
  const tables = Object.entries(s.result.rows).sort((a, b) => b[1] - a[1]);
  const verb = dryRun ? 'would delete' : 'deleted';
  out.info(`${verb} ${s.result.totalRows} rows in ${s.result.batches} batches (${(s.result.durationMs / 1000).toFixed(1)} s)${tables.length ? ':' : ''}`, quiet);
  const width = Math.max(0, ...tables.map(([t]) => t.length));
  for (const [table, n] of tables) out.info(`  ${table.padEnd(width)}  ${n}`, quiet);
  if (dryRun) out.info('dry run: nothing was deleted', quiet);
  else out.info(`database size ${humanBytes(s.sizeBefore)} -> ${humanBytes(s.sizeAfter)}: ${humanBytes(s.bytesFreed)} freed`, quiet);
}

export function registerCleanupdb(program: Command, out: Output): void {
  program
    .command('cleanupdb')
    .description('delete what the janitor horizons of master.config.ts say is old, now, then compact the database (the master must be stopped)')
    .argument('[dir]', 'the master directory', '.')
    .option('-q, --quiet', 'print nothing on success')
    .option('-n, --dry-run', 'count what would be deleted; delete nothing')
    .option('--no-vacuum', 'do not VACUUM the sqlite file afterwards')
    .option('-f, --force', 'accepted for Buildbot compatibility; has no effect')
    .action(async (dir: string, opts: CleanupdbOptions) => {
      await cleanupdb(dir, { ...opts, progress: process.stdout.isTTY ? 'bar' : 'lines' }, out);
    });
}
