import type { Database } from '../db/connection.js';
import { epochSeconds, insert, select, selectOne, update } from '../db/query.js';
import { BuildmasterError } from '../errors/index.js';
import { firstMatch, getKnownIssue, loadMatchers } from './knownIssues.js';
import { normalizeErrorLine, signatureHash } from './normalize.js';

/**
 * Suggestions for unlabelled failures, and the labels people give that teach them. A failure's
 * signature is compared with every labelled signature (most recent first, up to
 * MAX_CANDIDATES) by the Dice coefficient of their character trigrams: a line that differs by a
 * symbol name or a word scores high, an unrelated one near 0. Each known issue is suggested with
 * its best score, labels given by people counting fully and labels given by rules a little less
 * (a rule already labels what it matches; similarity to its matches is weaker evidence).
 */

/** Below this a similarity is not a suggestion. */
export const MIN_SIMILARITY = 0.6;
const RULE_WEIGHT = 0.9;
const MAX_CANDIDATES = 5_000;

/**
 * A string's character trigrams as a sorted array of codes (3 UTF-16 units packed in one double,
 * exact below 2^53): the Dice coefficient of two such multisets is one linear merge, with no hashing.
 */
type Grams = Float64Array;

function trigrams(s: string): Grams {
  const padded = `  ${s.toLowerCase()} `;
  const n = Math.max(0, padded.length - 2);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = padded.charCodeAt(i) * 4294967296 + padded.charCodeAt(i + 1) * 65536 + padded.charCodeAt(i + 2);
  return out.sort();
}

/** Trigrams of labelled signatures, computed once per text (a signature's text never changes). */
const GRAM_CACHE = new Map<string, Grams>();
const GRAM_CACHE_SIZE = 20_000;

function cachedTrigrams(s: string): Grams {
  let g = GRAM_CACHE.get(s);
  if (!g) {
    if (GRAM_CACHE.size >= GRAM_CACHE_SIZE) GRAM_CACHE.clear();
    g = trigrams(s);
    GRAM_CACHE.set(s, g);
  }
  return g;
}

function dice(a: Grams, b: Grams): number {
  let shared = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] === b[j]) {
      shared++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  const total = a.length + b.length;
  return total === 0 ? 0 : (2 * shared) / total;
}

/** Dice coefficient of two strings' trigram multisets: 1 for equal strings, 0 for nothing shared. */
export function similarity(a: string, b: string): number {
  if (a === b) return 1;
  return dice(trigrams(a), trigrams(b));
}

export interface Suggestion {
  knownIssueId: number;
  title: string;
  url: string | null;
  /** 0..1. */
  score: number;
  /** 'rule' when a rule matches the line itself; else the labelled signature it resembles. */
  via: { kind: 'rule' } | { kind: 'similar'; signatureid: number; signature: string; classifiedBy: string };
}

/**
 * Known issues an error line (raw text) or a recorded signature probably belongs to, best first.
 * A recorded signature's own label is not suggested back; for raw text, a rule that matches it
 * comes first with score 1.
 */
export async function suggestionsFor(db: Database, of: { signatureid: number } | { text: string; builderName?: string }, opts: { limit?: number } = {}): Promise<Suggestion[]> {
  let normalized: string;
  let self: number | null = null;
  const out = new Map<number, Suggestion>();
  if ('signatureid' in of) {
    const row = await selectOne<{ signature: string }>(db, 'SELECT signature FROM failure_signatures WHERE id = ?', [of.signatureid]);
    if (!row) return [];
    normalized = row.signature;
    self = of.signatureid;
  } else {
    normalized = normalizeErrorLine(of.text);
    const rule = firstMatch(await loadMatchers(db), { text: of.text, hash: signatureHash(normalized), builderName: of.builderName ?? null });
    if (rule) out.set(rule.id, { knownIssueId: rule.id, title: rule.title, url: rule.url, score: 1, via: { kind: 'rule' } });
  }
  const labelled = await select<{ id: number; signature: string; known_issueid: number; classified_by: string; title: string; url: string | null }>(
    db,
    `SELECT s.id, s.signature, s.known_issueid, s.classified_by, k.title, k.url
       FROM failure_signatures s JOIN known_issues k ON k.id = s.known_issueid
      WHERE k.active = 1 ORDER BY s.last_seen DESC LIMIT ?`,
    [MAX_CANDIDATES],
  );
  const mine = trigrams(normalized);
  for (const c of labelled) {
    if (Number(c.id) === self) continue;
    const weight = c.classified_by === 'rule' ? RULE_WEIGHT : 1;
    // Dice can be at most 2·min/(sum) of the two trigram counts: skip lines of very different length unread.
    const theirs = c.signature.length + 1;
    if ((2 * Math.min(mine.length, theirs) * weight) / (mine.length + theirs) < MIN_SIMILARITY) continue;
    const score = (c.signature === normalized ? 1 : dice(mine, cachedTrigrams(c.signature))) * weight;
    if (score < MIN_SIMILARITY) continue;
    const issueId = Number(c.known_issueid);
    const best = out.get(issueId);
    if (best && best.score >= score) continue;
    out.set(issueId, {
      knownIssueId: issueId,
      title: c.title,
      url: c.url,
      score: Math.round(score * 1000) / 1000,
      via: { kind: 'similar', signatureid: Number(c.id), signature: c.signature, classifiedBy: c.classified_by },
    });
  }
  return [...out.values()].sort((a, b) => b.score - a.score || a.knownIssueId - b.knownIssueId).slice(0, opts.limit ?? 5);
}

/**
 * A person labels a failure with a known issue (or takes the label off with null): the signature
 * and all its occurrences get it, later occurrences inherit it, and it becomes evidence for
 * suggestions on similar signatures. Given an occurrence, only that occurrence is labelled when
 * `onlyOccurrence` is set (a one-off); the signature keeps its label. Every call is logged in
 * failure_classifications. Throws a user error for an unknown signature, occurrence or issue.
 */
export async function classify(
  db: Database,
  target: { signatureid: number } | { occurrenceid: number; onlyOccurrence?: boolean },
  knownIssueId: number | null,
  by: string,
  now = epochSeconds(),
): Promise<void> {
  if (!by) throw new BuildmasterError('classify: who classifies (by) is required', { userError: true });
  if (knownIssueId !== null && !(await getKnownIssue(db, knownIssueId))) {
    throw new BuildmasterError(`no known issue ${knownIssueId}`, { userError: true });
  }
  let signatureid: number;
  let occurrenceid: number | null = null;
  if ('signatureid' in target) {
    if (!(await selectOne(db, 'SELECT id FROM failure_signatures WHERE id = ?', [target.signatureid]))) {
      throw new BuildmasterError(`no failure signature ${target.signatureid}`, { userError: true });
    }
    signatureid = target.signatureid;
  } else {
    const occ = await selectOne<{ signatureid: number }>(db, 'SELECT signatureid FROM failure_occurrences WHERE id = ?', [target.occurrenceid]);
    if (!occ) throw new BuildmasterError(`no failure occurrence ${target.occurrenceid}`, { userError: true });
    signatureid = Number(occ.signatureid);
    occurrenceid = target.occurrenceid;
  }
  const only = 'occurrenceid' in target && target.onlyOccurrence === true;
  await db.transaction(async (t) => {
    if (only) {
      await update(db, 'UPDATE failure_occurrences SET known_issueid = ?, classified_by = ? WHERE id = ?', [knownIssueId, knownIssueId === null ? null : by, occurrenceid], t);
    } else {
      await update(db, 'UPDATE failure_signatures SET known_issueid = ?, classified_by = ?, classified_at = ? WHERE id = ?', [
        knownIssueId, knownIssueId === null ? null : by, knownIssueId === null ? null : now, signatureid,
      ], t);
      await update(db, 'UPDATE failure_occurrences SET known_issueid = ?, classified_by = ? WHERE signatureid = ?', [knownIssueId, knownIssueId === null ? null : by, signatureid], t);
    }
    await insert(db, 'INSERT INTO failure_classifications (signatureid, occurrenceid, known_issueid, classified_by, classified_at) VALUES (?, ?, ?, ?, ?)', [
      signatureid, occurrenceid, knownIssueId, by, now,
    ], t);
  }, { driverOnly: true });
}

export interface Classification {
  signatureid: number;
  occurrenceid: number | null;
  knownIssueId: number | null;
  by: string;
  at: number;
}

/** Who labelled a signature and when, newest first. */
export async function classificationsOf(db: Database, signatureid: number): Promise<Classification[]> {
  const rows = await select<{ signatureid: number; occurrenceid: number | null; known_issueid: number | null; classified_by: string; classified_at: number }>(
    db,
    'SELECT signatureid, occurrenceid, known_issueid, classified_by, classified_at FROM failure_classifications WHERE signatureid = ? ORDER BY id DESC',
    [signatureid],
  );
  return rows.map((r) => ({
    signatureid: Number(r.signatureid),
    occurrenceid: r.occurrenceid === null ? null : Number(r.occurrenceid),
    knownIssueId: r.known_issueid === null ? null : Number(r.known_issueid),
    by: r.classified_by,
    at: Number(r.classified_at),
  }));
}
