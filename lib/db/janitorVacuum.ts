import type { Database } from './connection.js';
import { select, selectOne, update } from './query.js';

/**
 * Giving freed space back to the file system. sqlite keeps deleted pages on a free list inside the
 * file (new rows reuse them, so the file stops growing but never shrinks); with
 * `auto_vacuum = INCREMENTAL` the janitor can then cut them off the end in small steps, each
 * `PRAGMA incremental_vacuum(N)` a short write. The mode can only be switched on a database with
 * no tables yet, or by a full VACUUM (which rewrites the whole file): `buildmaster cleanupdb` does
 * that once, offline. MySQL (InnoDB) reuses freed pages inside its tablespace by itself.
 */

// Pragmas are read through their table functions: `PRAGMA auto_vacuum` is evaluated when the
// statement is prepared, and query.ts keeps statements prepared, so it would answer stale values.
export type AutoVacuum = 'none' | 'full' | 'incremental' | 'unsupported';

const MODES: readonly AutoVacuum[] = ['none', 'full', 'incremental'];

export async function autoVacuumMode(db: Database): Promise<AutoVacuum> {
  if (!db.caps.supportsVacuum) return 'unsupported';
  const row = await selectOne<{ auto_vacuum: number }>(db, 'SELECT auto_vacuum FROM pragma_auto_vacuum');
  return MODES[Number(row?.auto_vacuum ?? 0)] ?? 'none';
}

/**
 * Switches a sqlite database to incremental auto-vacuum (a full VACUUM: minutes on a big file, and
 * as much free disk again). Only with no master using the file. False when there is nothing to do.
 */
export async function enableIncrementalVacuum(db: Database): Promise<boolean> {
  if ((await autoVacuumMode(db)) === 'incremental' || !db.caps.supportsVacuum) return false;
  await update(db, 'PRAGMA auto_vacuum = INCREMENTAL');
  await update(db, 'VACUUM');
  return true;
}

/**
 * A full VACUUM (sqlite), compacting the file, as Buildbot's cleanupdb does; `incremental` also
 * switches the file to incremental auto-vacuum. Only with no master using the file.
 */
export async function vacuum(db: Database, opts: { incremental?: boolean } = {}): Promise<void> {
  if (!db.caps.supportsVacuum) return;
  if (opts.incremental) await update(db, 'PRAGMA auto_vacuum = INCREMENTAL');
  await update(db, 'VACUUM');
}

export async function freePages(db: Database): Promise<{ free: number; pageSize: number }> {
  const free = await selectOne<{ freelist_count: number }>(db, 'SELECT freelist_count FROM pragma_freelist_count');
  const size = await selectOne<{ page_size: number }>(db, 'SELECT page_size FROM pragma_page_size');
  return { free: Number(free?.freelist_count ?? 0), pageSize: Number(size?.page_size ?? 4096) };
}

/**
 * Incremental vacuum in steps of `pagesPerStep` (default 256), pausing between them; returns the
 * bytes given back. Nothing on MySQL or on a sqlite file not in incremental mode.
 */
export async function reclaimSpace(
  db: Database,
  opts: { pagesPerStep?: number; pause?: () => Promise<void>; signal?: AbortSignal } = {},
): Promise<number> {
  if ((await autoVacuumMode(db)) !== 'incremental') return 0;
  const step = Math.max(1, opts.pagesPerStep ?? 256);
  let { free, pageSize } = await freePages(db);
  let reclaimed = 0;
  while (free > 0 && !opts.signal?.aborted) {
    // It returns a row per page freed, and frees the next page only when stepped for the next row:
    // read all its rows, in a write transaction (query.ts sends a bare SELECT to the read connection).
    await db.transaction((t) => select(db, `PRAGMA incremental_vacuum(${Math.min(step, free)})`, [], t), { driverOnly: true });
    const after = (await freePages(db)).free;
    if (after >= free) break;
    reclaimed += (free - after) * pageSize;
    free = after;
    await opts.pause?.();
  }
  return reclaimed;
}
