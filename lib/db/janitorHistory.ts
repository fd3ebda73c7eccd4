import type { JanitorRun } from './janitorRun.js';
import { select } from './query.js';

/**
 * The signature horizon: rows of the history tables (migration 004_history) older than the cutoff.
 * Those tables are not Buildbot's and outlive the builds they describe, so they have their own
 * horizon. Each table is used only when it exists (a database from before 004 has none).
 *
 * Tables whose primary key grows with time are walked by key from the oldest, as builds are, and
 * the walk stops at the first row at or after the cutoff. Then the per-day counts of days before
 * it, and last the signatures not seen since, with their classifications — except signatures
 * labelled with a known issue: those are knowledge, not history.
 */

/** (table, key, time column): rows whose time column is before the cutoff go. */
const TIMED: readonly (readonly [string, string, string])[] = [
  ['failure_occurrences', 'id', 'at'],
  ['failure_steps', 'stepid', 'recorded_at'],
  ['build_durations', 'buildid', 'started_at'],
  ['step_durations', 'stepid', 'started_at'],
  ['regression_alerts', 'id', 'created_at'],
];

export const HISTORY_TABLES: readonly string[] = [...TIMED.map(([t]) => t), 'failure_counts', 'failure_signatures', 'failure_classifications'];

const DAY = 86_400;

export async function collectHistory(run: JanitorRun, tables: ReadonlySet<string>, cutoff: number): Promise<void> {
  const db = run.db;
  run.startPhase('history');
  for (const [table, key, time] of TIMED) {
    if (!tables.has(table)) continue;
    const sizer = run.sizer();
    let after = -1;
    while (!run.aborted) {
      const limit = sizer.size;
      const rows = await select<{ k: number; t: number }>(db, `SELECT ${key} AS k, ${time} AS t FROM ${table} WHERE ${key} > ? ORDER BY ${key} LIMIT ?`, [after, limit]);
      const ids: number[] = [];
      let reachedNew = false;
      for (const r of rows) {
        if (r.t >= cutoff) {
          reachedNew = true;
          break;
        }
        ids.push(r.k);
      }
      if (ids.length > 0) {
        after = ids[ids.length - 1]!;
        await run.batch(sizer, ids.length, [{ table, sql: `DELETE FROM ${table} WHERE ${key} IN (?)`, params: [ids] }]);
      }
      if (reachedNew || rows.length < limit) break;
    }
  }

  if (tables.has('failure_counts')) {
    // `day` is the epoch second a UTC day starts: a day goes once all of it is before the cutoff.
    const lastDay = cutoff - DAY;
    const days = (await select<{ day: number }>(db, 'SELECT DISTINCT day FROM failure_counts WHERE day <= ? ORDER BY day', [lastDay])).map((r) => r.day);
    for (const day of days) {
      const sizer = run.sizer();
      let after = -1;
      while (!run.aborted) {
        const sigs = (await select<{ s: number }>(
          db,
          'SELECT DISTINCT signatureid AS s FROM failure_counts WHERE day = ? AND signatureid > ? ORDER BY signatureid LIMIT ?',
          [day, after, sizer.size],
        )).map((r) => r.s);
        if (sigs.length === 0) break;
        after = sigs[sigs.length - 1]!;
        await run.batch(sizer, sigs.length, [{ table: 'failure_counts', sql: 'DELETE FROM failure_counts WHERE day = ? AND signatureid IN (?)', params: [day, sigs] }]);
      }
    }
  }

  if (tables.has('failure_signatures')) {
    const sizer = run.sizer();
    let after = -1;
    while (!run.aborted) {
      const rows = await select<{ id: number }>(
        db,
        'SELECT id FROM failure_signatures WHERE id > ? AND last_seen < ? AND known_issueid IS NULL ORDER BY id LIMIT ?',
        [after, cutoff, sizer.size],
      );
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      after = ids[ids.length - 1]!;
      // Children first; their rows older than the cutoff went above, these are the stragglers.
      const children = ['failure_classifications', 'failure_counts', 'failure_occurrences'].filter((t) => tables.has(t));
      await run.batch(sizer, ids.length, [
        ...children.map((table) => ({ table, sql: `DELETE FROM ${table} WHERE signatureid IN (?)`, params: [ids] })),
        { table: 'failure_signatures', sql: 'DELETE FROM failure_signatures WHERE id IN (?)', params: [ids] },
      ]);
    }
  }
}
