import type { DbTransaction, Database } from '../db/connection.js';
import { batches, insert, insertIgnoringDuplicates, select, selectOne, update, valuesList } from '../db/query.js';
import { firstMatch, loadMatchers } from './knownIssues.js';
import { normalizeErrorLine, signatureHash } from './normalize.js';

export { normalizeErrorLine, signatureHash } from './normalize.js';

/**
 * Recording the error lines of a finished step as failure signatures (tables of migration 004):
 * each line's signature is found or created, its first/last seen and total moved, the occurrence
 * stored with the build's builder, worker, branch and revision, and the per-day counts bumped —
 * all in one transaction, once per step.
 */

/** Where the errors come from: the step and what the build ran on. */
export interface FailureContext {
  buildid: number;
  stepid: number;
  /** The log of the lines that do not name their own (ErrorLine.logid). */
  logid: number | null;
  builderid: number;
  workerid: number | null;
  branch: string | null;
  /** The build's sourcestamp revision. */
  revision: string | null;
  /** When (epoch seconds): the step's end, normally. */
  at: number;
}

export interface ErrorLine {
  /** 1-based line in the log. */
  line: number;
  text: string;
  /** The failing test the line belongs to, when the parser knows. */
  test?: string;
  /** The log the line is in, when the step's errors come from several logs (default ctx.logid). */
  logid?: number | null;
}

/** The raw line and test name are cut to what the columns hold. */
const MAX_TEXT = 2000;
const MAX_KEY = 255;
const DAY = 86_400;

function cut(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : chars.slice(0, max).join('');
}

interface Prepared {
  line: number;
  logid: number | null;
  text: string;
  test: string | null;
  normalized: string;
  hash: string;
}

/**
 * Records a step's error lines, of all its logs in one call (each line names its log, or
 * ctx.logid stands for it). Idempotent per stepid: the step's row in failure_steps is
 * inserted first, in the same transaction, so a retried or concurrent second call for the same
 * step finds it (on MySQL it waits on that key until the first commits) and records nothing.
 * A step with no errors records nothing.
 */
export async function recordStepFailures(db: Database, ctx: FailureContext, errors: readonly ErrorLine[]): Promise<void> {
  if (errors.length === 0) return;
  const lines: Prepared[] = errors.map((e) => {
    const normalized = normalizeErrorLine(e.text);
    return { line: e.line, logid: e.logid !== undefined ? e.logid : ctx.logid, text: cut(e.text, MAX_TEXT), test: e.test ? cut(e.test, MAX_KEY) : null, normalized, hash: signatureHash(normalized) };
  });
  await db.transaction((t) => recordIn(db, ctx, lines, t), { driverOnly: true });
}

async function recordIn(db: Database, ctx: FailureContext, lines: Prepared[], t: DbTransaction): Promise<void> {
  const marker = await insertIgnoringDuplicates(db, 'failure_steps (stepid, buildid, recorded_at) VALUES (?, ?, ?)', [ctx.stepid, ctx.buildid, ctx.at], t);
  if (marker.affectedRows === 0) return;
  const matchers = await loadMatchers(db, t);
  const builderName = matchers.some((m) => m.issue.builders)
    ? ((await selectOne<{ name: string }>(db, 'SELECT name FROM builders WHERE id = ?', [ctx.builderid], t))?.name ?? null)
    : null;

  // Signatures in hash order: concurrent steps lock shared signature rows in the same order.
  const byHash = new Map<string, Prepared[]>();
  for (const l of lines) (byHash.get(l.hash) ?? byHash.set(l.hash, []).get(l.hash)!).push(l);
  const hashes = [...byHash.keys()].sort();
  const lock = db.caps.rowLocks ? ' FOR UPDATE' : '';
  const occurrences: unknown[][] = [];
  const counts = new Map<string, { sigid: number; test: string; n: number }>();
  for (const hash of hashes) {
    const group = byHash.get(hash)!;
    const first = group[0]!;
    await insertIgnoringDuplicates(
      db,
      `failure_signatures (hash, signature, example, first_seen, first_buildid, first_revision, last_seen, last_buildid, occurrences)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
      [hash, first.normalized, first.text, ctx.at, ctx.buildid, ctx.revision, ctx.at, ctx.buildid],
      t,
    );
    // A locking read: on MySQL it sees the row another transaction just committed, which a
    // plain read of this transaction's snapshot would not.
    const sig = (await selectOne<{ id: number; known_issueid: number | null }>(db, `SELECT id, known_issueid FROM failure_signatures WHERE hash = ?${lock}`, [hash], t))!;
    const sigid = Number(sig.id);
    // Earliest and latest by time, whatever order steps are recorded in. MySQL assigns left to
    // right with the new values, sqlite with the old ones: each *_buildid is set before the
    // time it compares, so both read the old time.
    await update(
      db,
      `UPDATE failure_signatures SET occurrences = occurrences + ?,
              first_buildid = CASE WHEN ? < first_seen THEN ? ELSE first_buildid END,
              first_revision = CASE WHEN ? < first_seen THEN ? ELSE first_revision END,
              first_seen = CASE WHEN ? < first_seen THEN ? ELSE first_seen END,
              last_buildid = CASE WHEN ? >= last_seen THEN ? ELSE last_buildid END,
              last_seen = CASE WHEN ? >= last_seen THEN ? ELSE last_seen END
        WHERE id = ?`,
      [group.length, ctx.at, ctx.buildid, ctx.at, ctx.revision, ctx.at, ctx.at, ctx.at, ctx.buildid, ctx.at, ctx.at, sigid],
      t,
    );
    let sigLabel = sig.known_issueid === null ? null : Number(sig.known_issueid);
    for (const l of group) {
      // A signature's label (a person's or a rule's) carries over; otherwise the first rule that matches.
      let label = sigLabel;
      let by: string | null = sigLabel === null ? null : 'signature';
      if (label === null) {
        const rule = firstMatch(matchers, { text: l.text, hash, builderName });
        if (rule) {
          label = rule.id;
          by = 'rule';
          await update(db, `UPDATE failure_signatures SET known_issueid = ?, classified_by = 'rule', classified_at = ? WHERE id = ? AND known_issueid IS NULL`, [rule.id, ctx.at, sigid], t);
          sigLabel = rule.id;
        }
      }
      occurrences.push([sigid, ctx.buildid, ctx.stepid, l.logid, l.line, l.text, l.test, ctx.builderid, ctx.workerid, ctx.branch, ctx.revision, ctx.at, label, by]);
      const key = `${sigid}\0${l.test ?? ''}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { sigid, test: l.test ?? '', n: 1 });
    }
  }
  for (const part of batches(db, occurrences, 14)) {
    await insert(
      db,
      `INSERT INTO failure_occurrences (signatureid, buildid, stepid, logid, line, text, test, builderid, workerid, branch, revision, at, known_issueid, classified_by)
       VALUES ${valuesList(part.length, 14)}`,
      part.flat(),
      t,
    );
  }
  const day = ctx.at - (ctx.at % DAY);
  const branch = ctx.branch === null ? '' : cut(ctx.branch, MAX_KEY);
  for (const c of counts.values()) await bumpCount(db, [c.sigid, day, ctx.builderid, ctx.workerid ?? 0, branch, c.test, c.n], t);
}

/** failure_counts += n for one (signature, day, builder, worker, branch, test). */
async function bumpCount(db: Database, row: unknown[], t: DbTransaction): Promise<void> {
  const head = 'INSERT INTO failure_counts (signatureid, day, builderid, workerid, branch, test, count) VALUES (?, ?, ?, ?, ?, ?, ?)';
  const sql =
    db.caps.upsert === 'onConflict'
      ? `${head} ON CONFLICT (signatureid, day, builderid, workerid, branch, test) DO UPDATE SET count = count + excluded.count`
      : `${head} ON DUPLICATE KEY UPDATE count = count + VALUES(count)`;
  await insert(db, sql, row, t);
}

/** The signature ids of a build's error lines (for "what failed in this build"). */
export async function signatureIdsOfBuild(db: Database, buildid: number, t?: DbTransaction): Promise<number[]> {
  const rows = await select<{ signatureid: number }>(db, 'SELECT DISTINCT signatureid FROM failure_occurrences WHERE buildid = ?', [buildid], t);
  return rows.map((r) => Number(r.signatureid)).sort((a, b) => a - b);
}
