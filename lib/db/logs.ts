import type { Transaction } from 'sequelize';
import { BuildmasterError } from '../errors/index.js';
import { mergeChunks, planCompaction, type LogChunkRow } from '../logs/chunkCodec.js';
import type { Database } from './connection.js';
import { forceIdentifier, incrementIdentifier } from './identifiers.js';
import type { LogRow } from './model/index.js';
import { insert, isUniqueViolation, remove, select, selectOne, update, valuesList } from './query.js';

export type { LogRow } from './model/index.js';
export type { LogChunkRow } from '../logs/chunkCodec.js';

/** 's' stdio, 't' text, 'h' html, 'd' deleted (content dropped by the janitor). */
export type LogType = 's' | 't' | 'h' | 'd';
const LOG_TYPES: ReadonlySet<string> = new Set(['s', 't', 'h', 'd']);

/** logs.slug is VARCHAR(50). */
export const MAX_SLUG = 50;
const MAX_SLUG_ATTEMPTS = 100;
/** Keep one INSERT's content under this (MySQL's max_allowed_packet is 16 MiB by default). */
const MAX_INSERT_BYTES = 1 << 20;

/**
 * Adds an empty, incomplete log to the step. Its slug is Buildbot's forceIdentifier(50, name);
 * when the step already has that slug, `_2`, `_3`… (the unique (stepid, slug) index decides).
 */
export async function addLog(db: Database, stepid: number, name: string, type: LogType, t?: Transaction): Promise<{ logid: number; slug: string }> {
  if (!LOG_TYPES.has(type)) throw new BuildmasterError(`log type must be one of s, t, h, d (got '${type}')`);
  let slug = forceIdentifier(MAX_SLUG, name);
  for (let attempt = 0; ; attempt++) {
    try {
      const { insertId } = await insert(
        db,
        'INSERT INTO logs (name, slug, stepid, complete, num_lines, type) VALUES (?, ?, ?, 0, 0, ?)',
        [name, slug, stepid, type],
        t,
      );
      return { logid: insertId, slug };
    } catch (err) {
      if (!isUniqueViolation(err) || attempt + 1 >= MAX_SLUG_ATTEMPTS) throw err;
      slug = incrementIdentifier(MAX_SLUG, slug);
    }
  }
}

/**
 * Stores a batch of chunk rows (lib/logs/chunkCodec's encodeChunks) and raises logs.num_lines to
 * `numLines`. Safe to retry, which is what LogBuffer relies on when a write fails: a row whose
 * first_line the log already has is skipped, so a batch written again (in part or in full, e.g.
 * after a lost connection) adds no line twice, and num_lines only ever goes up. The rows go in
 * before the count, so a reader never sees a count beyond the lines stored. That gives a batch the
 * all-or-nothing effect LogBuffer needs without a transaction, which on sqlite costs more than the
 * writes themselves and would serialise every running build's log flushes; pass `t` to make the
 * batch part of a transaction anyway. Only the log's own master appends to it, one batch at a time.
 * `fresh: true` says no row of this batch can be stored yet (its first attempt, by the log's only
 * writer), which skips the read that makes a retry safe. Returns the number of rows inserted.
 */
export async function appendLogChunks(
  db: Database,
  logid: number,
  rows: readonly LogChunkRow[],
  numLines: number,
  t?: Transaction,
  opts: { fresh?: boolean } = {},
): Promise<number> {
  let fresh = [...rows];
  if (fresh.length > 0 && !opts.fresh) {
    const present = await select<{ first_line: number }>(
      db,
      'SELECT first_line FROM logchunks WHERE logid = ? AND first_line IN (?)',
      [logid, fresh.map((r) => r.first_line)],
      t,
    );
    const have = new Set(present.map((r) => Number(r.first_line)));
    fresh = fresh.filter((r) => !have.has(r.first_line));
  }
  for (const group of bySize(fresh)) {
    await insert(
      db,
      `INSERT INTO logchunks (logid, first_line, last_line, content, compressed, timestamps) VALUES ${valuesList(group.length, 6)}`,
      group.flatMap((r) => [logid, r.first_line, r.last_line, r.content, r.compressed, r.timestamps ?? null]),
      t,
    );
  }
  await update(
    db,
    'UPDATE logs SET num_lines = CASE WHEN num_lines < ? THEN ? ELSE num_lines END WHERE id = ?',
    [numLines, numLines, logid],
    t,
  );
  return fresh.length;
}

/** Rows grouped so that no INSERT carries more than MAX_INSERT_BYTES of content. */
function bySize(rows: readonly LogChunkRow[]): LogChunkRow[][] {
  const groups: LogChunkRow[][] = [];
  let current: LogChunkRow[] = [];
  let bytes = 0;
  for (const r of rows) {
    const size = r.content.length + (r.timestamps?.length ?? 0);
    if (current.length > 0 && bytes + size > MAX_INSERT_BYTES) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export async function finishLog(db: Database, logid: number, t?: Transaction): Promise<void> {
  await update(db, 'UPDATE logs SET complete = 1 WHERE id = ?', [logid], t);
}

/**
 * Buildbot's compressLog: merges runs of small chunks (each merged chunk ≤ 64 KiB stored and
 * ≤ 1000 lines) and recompresses them, keeping every line and its timestamp. `force` recompresses
 * single chunks too (cleanupdb). Each run is replaced in its own transaction, so a reader sees
 * either the old chunks or the merged one, never a gap. Returns the bytes saved.
 */
export async function compressLog(db: Database, logid: number, opts: { force?: boolean } = {}): Promise<number> {
  const extents = await select<{ first_line: number; last_line: number; length: number | null }>(
    db,
    'SELECT first_line, last_line, LENGTH(content) AS length FROM logchunks WHERE logid = ? ORDER BY first_line',
    [logid],
  );
  const plan = planCompaction(
    extents.map((r) => ({ first_line: Number(r.first_line), last_line: Number(r.last_line), length: Number(r.length ?? 0) })),
    opts,
  );
  if (plan.length === 0) return 0;
  let saved = 0;
  for (const group of plan) {
    saved += await db.transaction(async (t) => {
      const members = await chunksBetween(db, logid, group.first_line, group.last_line, t);
      if (members.length === 0) return 0;
      const merged = mergeChunks(members);
      await remove(db, 'DELETE FROM logchunks WHERE logid = ? AND first_line >= ? AND last_line <= ?', [logid, group.first_line, group.last_line], t);
      await insert(
        db,
        'INSERT INTO logchunks (logid, first_line, last_line, content, compressed, timestamps) VALUES (?, ?, ?, ?, ?, ?)',
        [logid, merged.first_line, merged.last_line, merged.content, merged.compressed, merged.timestamps ?? null],
        t,
      );
      return members.reduce((n, r) => n + r.content.length, 0) - merged.content.length;
    }, { driverOnly: true });
  }
  return saved;
}

type StoredChunk = LogChunkRow & { logid: number };

/** Rows lying wholly within first..last. */
function chunksBetween(db: Database, logid: number, first: number, last: number, t?: Transaction): Promise<StoredChunk[]> {
  return select<StoredChunk>(
    db,
    `SELECT logid, first_line, last_line, content, compressed, timestamps FROM logchunks
     WHERE logid = ? AND first_line >= ? AND last_line <= ? ORDER BY first_line`,
    [logid, first, last],
    t,
  );
}

/**
 * The rows holding any of lines firstLine..lastLine (inclusive), in order: feed them to
 * lib/logs/chunkCodec's readLines with the same range. Uses the (logid, last_line) index.
 */
export async function getLogChunks(db: Database, logid: number, firstLine: number, lastLine: number, t?: Transaction): Promise<StoredChunk[]> {
  const rows = await select<StoredChunk>(
    db,
    `SELECT logid, first_line, last_line, content, compressed, timestamps FROM logchunks
     WHERE logid = ? AND last_line >= ? AND first_line <= ? ORDER BY first_line`,
    [logid, firstLine, lastLine],
    t,
  );
  // A NULL content (Buildbot allows it) reads as an empty chunk.
  for (const r of rows) if (r.content === null) r.content = Buffer.alloc(0);
  return rows;
}

const LOG_COLUMNS = 'id, name, slug, stepid, complete, num_lines, type';

export function getLog(db: Database, logid: number, t?: Transaction): Promise<LogRow | undefined> {
  return selectOne<LogRow>(db, `SELECT ${LOG_COLUMNS} FROM logs WHERE id = ?`, [logid], t);
}

export function getLogBySlug(db: Database, stepid: number, slug: string, t?: Transaction): Promise<LogRow | undefined> {
  return selectOne<LogRow>(db, `SELECT ${LOG_COLUMNS} FROM logs WHERE stepid = ? AND slug = ?`, [stepid, slug], t);
}

/** The step's logs in the order they were added. */
export function getLogs(db: Database, stepid: number, t?: Transaction): Promise<LogRow[]> {
  return select<LogRow>(db, `SELECT ${LOG_COLUMNS} FROM logs WHERE stepid = ? ORDER BY id`, [stepid], t);
}
