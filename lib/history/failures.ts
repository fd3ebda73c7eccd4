import type { DbTransaction, Database } from '../db/connection.js';
import { getPush } from '../db/pushes.js';
import { select, selectOne } from '../db/query.js';

/**
 * Reading failure signatures: lists with counts per builder/worker/branch/test/day (from the
 * failure_counts rows, by index), a signature's occurrences, and what is new in a build or a push.
 * Times are epoch seconds; a "day" is a UTC day, named by its first second.
 */

export const DAY = 86_400;

export interface SignatureSummary {
  id: number;
  hash: string;
  /** The normalised line. */
  signature: string;
  /** The first raw line seen. */
  example: string;
  firstSeen: { at: number; buildid: number; revision: string | null };
  lastSeen: { at: number; buildid: number };
  /** Occurrences ever. */
  occurrences: number;
  /** Occurrences matching the filter (the same as `occurrences` without one). */
  count: number;
  knownIssueId: number | null;
  /** 'rule', a person's name, or null when unlabelled. */
  classifiedBy: string | null;
}

export interface CountFilter {
  builderid?: number;
  /** null: builds that had no worker. */
  workerid?: number | null;
  /** null: the default branch. */
  branch?: string | null;
  test?: string;
  /** Epoch seconds; counts are per day, so the days containing since..until are included. */
  since?: number;
  until?: number;
}

export interface SignatureFilter extends CountFilter {
  /** A known issue's id; null: only unlabelled signatures. */
  knownIssueId?: number | null;
  /** 'count' (default: most frequent first), 'lastSeen' or 'firstSeen' (newest first). */
  order?: 'count' | 'lastSeen' | 'firstSeen';
  /** Default 100. */
  limit?: number;
  offset?: number;
}

interface SignatureRow {
  id: number;
  hash: string;
  signature: string;
  example: string;
  first_seen: number;
  first_buildid: number;
  first_revision: string | null;
  last_seen: number;
  last_buildid: number;
  occurrences: number;
  known_issueid: number | null;
  classified_by: string | null;
  n?: number;
}

const SIG_COLUMNS = 's.id, s.hash, s.signature, s.example, s.first_seen, s.first_buildid, s.first_revision, s.last_seen, s.last_buildid, s.occurrences, s.known_issueid, s.classified_by';

function toSummary(r: SignatureRow): SignatureSummary {
  return {
    id: Number(r.id),
    hash: r.hash,
    signature: r.signature,
    example: r.example,
    firstSeen: { at: Number(r.first_seen), buildid: Number(r.first_buildid), revision: r.first_revision },
    lastSeen: { at: Number(r.last_seen), buildid: Number(r.last_buildid) },
    occurrences: Number(r.occurrences),
    count: Number(r.n ?? r.occurrences),
    knownIssueId: r.known_issueid === null ? null : Number(r.known_issueid),
    classifiedBy: r.classified_by,
  };
}

/** WHERE terms over failure_counts (alias c) for a filter. */
function countWhere(f: CountFilter): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  const add = (term: string, v: unknown) => {
    sql.push(term);
    params.push(v);
  };
  if (f.builderid !== undefined) add('c.builderid = ?', f.builderid);
  if (f.workerid !== undefined) add('c.workerid = ?', f.workerid ?? 0);
  if (f.branch !== undefined) add('c.branch = ?', f.branch ?? '');
  if (f.test !== undefined) add('c.test = ?', f.test);
  if (f.since !== undefined) add('c.day >= ?', f.since - (f.since % DAY));
  if (f.until !== undefined) add('c.day <= ?', f.until);
  return { sql, params };
}

function hasCountFilter(f: CountFilter): boolean {
  return [f.builderid, f.workerid, f.branch, f.test, f.since, f.until].some((v) => v !== undefined);
}

/** Signatures with their counts, filtered, most frequent (or most recent) first, and how many match. */
export async function listSignatures(db: Database, f: SignatureFilter = {}, t?: DbTransaction): Promise<{ signatures: SignatureSummary[]; total: number }> {
  const limit = Math.max(0, Math.floor(f.limit ?? 100));
  const offset = Math.max(0, Math.floor(f.offset ?? 0));
  const sigWhere: string[] = [];
  const sigParams: unknown[] = [];
  if (f.knownIssueId === null) sigWhere.push('s.known_issueid IS NULL');
  else if (f.knownIssueId !== undefined) {
    sigWhere.push('s.known_issueid = ?');
    sigParams.push(f.knownIssueId);
  }
  const order = f.order === 'lastSeen' ? 's.last_seen DESC, s.id DESC' : f.order === 'firstSeen' ? 's.first_seen DESC, s.id DESC' : 'n DESC, s.id';
  let from: string;
  let params: unknown[];
  if (hasCountFilter(f)) {
    const w = countWhere(f);
    from = `(SELECT c.signatureid, SUM(c.count) AS n FROM failure_counts c WHERE ${w.sql.join(' AND ')} GROUP BY c.signatureid) k
            JOIN failure_signatures s ON s.id = k.signatureid`;
    params = w.params;
  } else {
    from = '(SELECT id AS signatureid, occurrences AS n FROM failure_signatures) k JOIN failure_signatures s ON s.id = k.signatureid';
    params = [];
  }
  const where = sigWhere.length ? `WHERE ${sigWhere.join(' AND ')}` : '';
  const rows = await select<SignatureRow>(db, `SELECT ${SIG_COLUMNS}, k.n FROM ${from} ${where} ORDER BY ${order} LIMIT ? OFFSET ?`, [...params, ...sigParams, limit, offset], t);
  const total = await selectOne<{ total: number }>(db, `SELECT COUNT(*) AS total FROM ${from} ${where}`, [...params, ...sigParams], t);
  return { signatures: rows.map(toSummary), total: Number(total?.total ?? 0) };
}

/** One signature by id or by hash. */
export async function getSignature(db: Database, idOrHash: number | string, t?: DbTransaction): Promise<SignatureSummary | undefined> {
  const column = typeof idOrHash === 'number' ? 's.id' : 's.hash';
  const row = await selectOne<SignatureRow>(db, `SELECT ${SIG_COLUMNS} FROM failure_signatures s WHERE ${column} = ?`, [idOrHash], t);
  return row ? toSummary(row) : undefined;
}

export type CountDimension = 'day' | 'builder' | 'worker' | 'branch' | 'test';

const DIMENSION_COLUMN: Readonly<Record<CountDimension, string>> = {
  day: 'c.day',
  builder: 'c.builderid',
  worker: 'c.workerid',
  branch: 'c.branch',
  test: 'c.test',
};

/**
 * Occurrence counts grouped by one dimension, for one signature or all: `key` is the day's first
 * second, a builder or worker id, a branch or a test name (null: no worker, the default branch,
 * no test). Days in order; other keys most frequent first.
 */
export async function failureCounts(
  db: Database,
  q: CountFilter & { by: CountDimension; signatureid?: number },
  t?: DbTransaction,
): Promise<{ key: number | string | null; count: number }[]> {
  const w = countWhere(q);
  if (q.signatureid !== undefined) {
    w.sql.unshift('c.signatureid = ?');
    w.params.unshift(q.signatureid);
  }
  const col = DIMENSION_COLUMN[q.by];
  const rows = await select<{ k: number | string; n: number }>(
    db,
    `SELECT ${col} AS k, SUM(c.count) AS n FROM failure_counts c ${w.sql.length ? `WHERE ${w.sql.join(' AND ')}` : ''}
      GROUP BY ${col} ORDER BY ${q.by === 'day' ? 'k' : 'n DESC, k'}`,
    w.params,
    t,
  );
  return rows.map((r) => {
    let key: number | string | null = r.k;
    if (q.by === 'day' || q.by === 'builder') key = Number(r.k);
    else if (q.by === 'worker') key = Number(r.k) === 0 ? null : Number(r.k);
    else if (r.k === '') key = null;
    return { key, count: Number(r.n) };
  });
}

export interface Occurrence {
  id: number;
  signatureid: number;
  buildid: number;
  stepid: number;
  logid: number | null;
  line: number;
  text: string;
  test: string | null;
  builderid: number;
  workerid: number | null;
  branch: string | null;
  revision: string | null;
  at: number;
  knownIssueId: number | null;
  classifiedBy: string | null;
}

interface OccurrenceRow extends Omit<Occurrence, 'knownIssueId' | 'classifiedBy'> {
  known_issueid: number | null;
  classified_by: string | null;
}

const OCC_COLUMNS = 'id, signatureid, buildid, stepid, logid, line, text, test, builderid, workerid, branch, revision, at, known_issueid, classified_by';

function toOccurrence(r: OccurrenceRow): Occurrence {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: Number(r.id),
    signatureid: Number(r.signatureid),
    buildid: Number(r.buildid),
    stepid: Number(r.stepid),
    logid: num(r.logid),
    line: Number(r.line),
    text: r.text,
    test: r.test,
    builderid: Number(r.builderid),
    workerid: num(r.workerid),
    branch: r.branch,
    revision: r.revision,
    at: Number(r.at),
    knownIssueId: num(r.known_issueid),
    classifiedBy: r.classified_by,
  };
}

/** A signature's occurrences, newest first; `before` (an occurrence id) pages back. */
export async function signatureOccurrences(
  db: Database,
  signatureid: number,
  q: { limit?: number; before?: number } = {},
  t?: DbTransaction,
): Promise<Occurrence[]> {
  const params: unknown[] = [signatureid];
  let more = '';
  if (q.before !== undefined) {
    more = ' AND id < ?';
    params.push(q.before);
  }
  params.push(Math.max(0, Math.floor(q.limit ?? 50)));
  const rows = await select<OccurrenceRow>(db, `SELECT ${OCC_COLUMNS} FROM failure_occurrences WHERE signatureid = ?${more} ORDER BY at DESC, id DESC LIMIT ?`, params, t);
  return rows.map(toOccurrence);
}

export async function getOccurrence(db: Database, id: number, t?: DbTransaction): Promise<Occurrence | undefined> {
  const row = await selectOne<OccurrenceRow>(db, `SELECT ${OCC_COLUMNS} FROM failure_occurrences WHERE id = ?`, [id], t);
  return row ? toOccurrence(row) : undefined;
}

/** A build's error lines, in step and line order. */
export async function occurrencesOfBuild(db: Database, buildid: number, t?: DbTransaction): Promise<Occurrence[]> {
  const rows = await select<OccurrenceRow>(db, `SELECT ${OCC_COLUMNS} FROM failure_occurrences WHERE buildid = ? ORDER BY stepid, line, id`, [buildid], t);
  return rows.map(toOccurrence);
}

/** Signatures first seen in one of these builds. */
export async function signaturesFirstSeenIn(db: Database, buildids: readonly number[], t?: DbTransaction): Promise<SignatureSummary[]> {
  if (buildids.length === 0) return [];
  const rows = await select<SignatureRow>(db, `SELECT ${SIG_COLUMNS} FROM failure_signatures s WHERE s.first_buildid IN (?) ORDER BY s.id`, [[...buildids]], t);
  return rows.map(toSummary);
}

/**
 * "New in this push": signatures whose first occurrence is in a build of one of the push's
 * changes (a build whose sourcestamp is one of theirs). Undefined when there is no such push.
 */
export async function signaturesNewInPush(db: Database, pushid: number, t?: DbTransaction): Promise<SignatureSummary[] | undefined> {
  const push = await getPush(db, pushid, t);
  if (!push) return undefined;
  return signaturesFirstSeenIn(db, push.builds.map((b) => b.buildid), t);
}
