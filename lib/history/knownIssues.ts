import type { DbTransaction, Database } from '../db/connection.js';
import { epochSeconds, insert, remove, select, selectOne, update } from '../db/query.js';
import { BuildmasterError } from '../errors/index.js';
import { normalizeErrorLine, signatureHash } from './normalize.js';

/**
 * Known issues: rules that label failures (table known_issues, migration 004). A rule matches an
 * error line when its `pattern` (a regex over the raw line) matches or its `signature` is the
 * line's signature, and, when it lists builders, the failing builder is one of them. Rules come
 * from the config (source 'config', replaced at each start/reconfig by syncConfiguredKnownIssues)
 * or from the API (source 'api').
 */

export interface KnownIssueSpec {
  title: string;
  url?: string | null;
  /** A regex over the raw error line: a RegExp, or its source (no flags). */
  pattern?: RegExp | string | null;
  /** A signature hash (40 hex digits), or an error line whose signature is meant. */
  signature?: string | null;
  /** Only failures of these builders (names); unset or empty: every builder. */
  builders?: readonly string[] | null;
}

export interface KnownIssue {
  id: number;
  title: string;
  url: string | null;
  /** `/source/flags`, as stored. */
  pattern: string | null;
  signatureHash: string | null;
  builders: string[] | null;
  source: 'config' | 'api';
  active: boolean;
  createdAt: number;
  createdBy: string | null;
}

interface KnownIssueRow {
  id: number;
  title: string;
  url: string | null;
  pattern: string | null;
  signature_hash: string | null;
  builders: string | null;
  source: 'config' | 'api';
  active: number;
  created_at: number;
  created_by: string | null;
}

const COLUMNS = 'id, title, url, pattern, signature_hash, builders, source, active, created_at, created_by';
const MAX_TITLE = 255;
const MAX_URL = 1024;

function toIssue(r: KnownIssueRow): KnownIssue {
  return {
    id: Number(r.id),
    title: r.title,
    url: r.url,
    pattern: r.pattern,
    signatureHash: r.signature_hash,
    builders: r.builders ? (JSON.parse(r.builders) as string[]) : null,
    source: r.source,
    active: Number(r.active) === 1,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
  };
}

/** `/source/flags` for a RegExp or a regex source; throws a user error when it does not compile. */
export function encodePattern(pattern: RegExp | string): string {
  const re = typeof pattern === 'string' ? compile(pattern, '') : pattern;
  return `/${re.source}/${re.flags.replace(/[gy]/g, '')}`;
}

function compile(source: string, flags: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new BuildmasterError(`known issue: invalid pattern ${JSON.stringify(source)}: ${(err as Error).message}`, { userError: true, cause: err });
  }
}

export function decodePattern(stored: string): RegExp {
  const slash = stored.lastIndexOf('/');
  return compile(stored.slice(1, slash), stored.slice(slash + 1));
}

function toHash(signature: string): string {
  return /^[0-9a-f]{40}$/.test(signature) ? signature : signatureHash(normalizeErrorLine(signature));
}

interface Normalized {
  title: string;
  url: string | null;
  pattern: string | null;
  signature_hash: string | null;
  builders: string | null;
}

function normalizeSpec(spec: KnownIssueSpec): Normalized {
  const title = spec.title?.trim();
  if (!title) throw new BuildmasterError('known issue: a title is required', { userError: true });
  if (Array.from(title).length > MAX_TITLE) throw new BuildmasterError(`known issue: title longer than ${MAX_TITLE} characters`, { userError: true });
  if (spec.url && spec.url.length > MAX_URL) throw new BuildmasterError(`known issue: url longer than ${MAX_URL} characters`, { userError: true });
  if (!spec.pattern && !spec.signature) throw new BuildmasterError(`known issue "${title}": needs a pattern or a signature`, { userError: true });
  return {
    title,
    url: spec.url || null,
    pattern: spec.pattern ? encodePattern(spec.pattern) : null,
    signature_hash: spec.signature ? toHash(spec.signature) : null,
    builders: spec.builders && spec.builders.length ? JSON.stringify([...spec.builders]) : null,
  };
}

/** A known issue ready to test error lines against. */
export interface IssueMatcher {
  issue: KnownIssue;
  matches(line: { text: string; hash: string; builderName: string | null }): boolean;
}

export function matcherOf(issue: KnownIssue): IssueMatcher {
  const re = issue.pattern ? decodePattern(issue.pattern) : null;
  const builders = issue.builders ? new Set(issue.builders) : null;
  return {
    issue,
    matches: ({ text, hash, builderName }) => {
      if (builders && (builderName === null || !builders.has(builderName))) return false;
      return (issue.signatureHash !== null && issue.signatureHash === hash) || (re !== null && re.test(text));
    },
  };
}

/** The first active rule (lowest id: config order, then API order) matching the line. */
export function firstMatch(matchers: readonly IssueMatcher[], line: { text: string; hash: string; builderName: string | null }): KnownIssue | undefined {
  return matchers.find((m) => m.matches(line))?.issue;
}

export async function listKnownIssues(db: Database, opts: { includeInactive?: boolean } = {}, t?: DbTransaction): Promise<KnownIssue[]> {
  const where = opts.includeInactive ? '' : 'WHERE active = 1';
  return (await select<KnownIssueRow>(db, `SELECT ${COLUMNS} FROM known_issues ${where} ORDER BY id`, [], t)).map(toIssue);
}

export async function getKnownIssue(db: Database, id: number, t?: DbTransaction): Promise<KnownIssue | undefined> {
  const row = await selectOne<KnownIssueRow>(db, `SELECT ${COLUMNS} FROM known_issues WHERE id = ?`, [id], t);
  return row ? toIssue(row) : undefined;
}

/** The active rules as matchers, in order. */
export async function loadMatchers(db: Database, t?: DbTransaction): Promise<IssueMatcher[]> {
  return (await listKnownIssues(db, {}, t)).map(matcherOf);
}

/** Adds a rule through the API (source 'api') and applies it to recorded failures; throws a user error for an invalid one. */
export async function addKnownIssue(db: Database, spec: KnownIssueSpec, by: string | null = null, now = epochSeconds()): Promise<KnownIssue> {
  const n = normalizeSpec(spec);
  const { insertId } = await insert(
    db,
    `INSERT INTO known_issues (title, url, pattern, signature_hash, builders, source, active, created_at, created_by)
     VALUES (?, ?, ?, ?, ?, 'api', 1, ?, ?)`,
    [n.title, n.url, n.pattern, n.signature_hash, n.builders, now, by],
  );
  await applyKnownIssue(db, insertId, now);
  return (await getKnownIssue(db, insertId))!;
}

/**
 * Changes an API rule (config rules change in the config). Fields left undefined keep their value.
 * Returns undefined when there is no such rule; throws a user error for a config rule.
 */
export async function updateKnownIssue(db: Database, id: number, patch: Partial<KnownIssueSpec>): Promise<KnownIssue | undefined> {
  const old = await getKnownIssue(db, id);
  if (!old) return undefined;
  if (old.source === 'config') throw new BuildmasterError(`known issue ${id} comes from the config: change it there`, { userError: true });
  const merged: KnownIssueSpec = {
    title: patch.title ?? old.title,
    url: patch.url !== undefined ? patch.url : old.url,
    pattern: patch.pattern !== undefined ? patch.pattern : old.pattern ? decodePattern(old.pattern) : null,
    signature: patch.signature !== undefined ? patch.signature : old.signatureHash,
    builders: patch.builders !== undefined ? patch.builders : old.builders,
  };
  const n = normalizeSpec(merged);
  await update(db, 'UPDATE known_issues SET title = ?, url = ?, pattern = ?, signature_hash = ?, builders = ? WHERE id = ?', [
    n.title, n.url, n.pattern, n.signature_hash, n.builders, id,
  ]);
  await applyKnownIssue(db, id);
  return getKnownIssue(db, id);
}

/**
 * Deletes an API rule and takes its label off the failures it labelled (they become unlabelled,
 * and may get suggestions again). Returns false when there is no such rule.
 */
export async function deleteKnownIssue(db: Database, id: number): Promise<boolean> {
  const old = await getKnownIssue(db, id);
  if (!old) return false;
  if (old.source === 'config') throw new BuildmasterError(`known issue ${id} comes from the config: remove it there`, { userError: true });
  await db.transaction(async (t) => {
    await unlabel(db, [id], t);
    await remove(db, 'DELETE FROM known_issues WHERE id = ?', [id], t);
  }, { driverOnly: true });
  return true;
}

async function unlabel(db: Database, ids: readonly number[], t: DbTransaction): Promise<void> {
  if (ids.length === 0) return;
  await update(db, 'UPDATE failure_signatures SET known_issueid = NULL, classified_by = NULL, classified_at = NULL WHERE known_issueid IN (?)', [ids], t);
  await update(db, 'UPDATE failure_occurrences SET known_issueid = NULL, classified_by = NULL WHERE known_issueid IN (?)', [ids], t);
}

/**
 * Makes the config's rules the active 'config' rows: a rule keeps its id while its title stays
 * (so labels survive a reconfig), changed fields are updated, new ones inserted, and rules no
 * longer configured are deactivated (rows kept: old labels still name them). The configured rules
 * are then applied to recorded unlabelled failures.
 */
export async function syncConfiguredKnownIssues(db: Database, specs: readonly KnownIssueSpec[], now = epochSeconds()): Promise<void> {
  const wanted = specs.map(normalizeSpec);
  const touched: number[] = [];
  await db.transaction(async (t) => {
    touched.length = 0;
    const existing = (await select<KnownIssueRow>(db, `SELECT ${COLUMNS} FROM known_issues WHERE source = 'config'`, [], t)).map(toIssue);
    const byTitle = new Map(existing.map((i) => [i.title, i]));
    const kept = new Set<number>();
    for (const n of wanted) {
      const old = byTitle.get(n.title);
      if (old) {
        kept.add(old.id);
        touched.push(old.id);
        await update(db, 'UPDATE known_issues SET url = ?, pattern = ?, signature_hash = ?, builders = ?, active = 1 WHERE id = ?', [
          n.url, n.pattern, n.signature_hash, n.builders, old.id,
        ], t);
      } else {
        const { insertId } = await insert(
          db,
          `INSERT INTO known_issues (title, url, pattern, signature_hash, builders, source, active, created_at, created_by)
           VALUES (?, ?, ?, ?, ?, 'config', 1, ?, 'config')`,
          [n.title, n.url, n.pattern, n.signature_hash, n.builders, now],
          t,
        );
        touched.push(insertId);
      }
    }
    const gone = existing.filter((i) => !kept.has(i.id) && i.active).map((i) => i.id);
    if (gone.length) await update(db, 'UPDATE known_issues SET active = 0 WHERE id IN (?)', [gone], t);
  }, { driverOnly: true });
  await applyKnownIssues(db, touched, now);
}

/** How many recent unlabelled signatures applyKnownIssues looks at. */
const APPLY_SCAN_LIMIT = 10_000;

/**
 * Labels the already recorded, unlabelled failures that these rules match (the most recent
 * APPLY_SCAN_LIMIT signatures, matched by their example line; a builder-limited rule against the
 * builder of the signature's last occurrence): a rule added today labels yesterday's failures too.
 * The first matching rule, in id order, wins. Returns the number of signatures labelled.
 */
export async function applyKnownIssues(db: Database, ids: readonly number[], now = epochSeconds()): Promise<number> {
  const issues = (await listKnownIssues(db)).filter((i) => ids.includes(i.id));
  if (issues.length === 0) return 0;
  const matchers = issues.map(matcherOf);
  const candidates = await select<{ id: number; hash: string; example: string; builderid: number | null }>(
    db,
    `SELECT s.id, s.hash, s.example, b.builderid FROM failure_signatures s
       LEFT JOIN builds b ON b.id = s.last_buildid
      WHERE s.known_issueid IS NULL ORDER BY s.last_seen DESC LIMIT ?`,
    [APPLY_SCAN_LIMIT],
  );
  const names = new Map<number, string>();
  if (issues.some((i) => i.builders)) {
    for (const r of await select<{ id: number; name: string }>(db, 'SELECT id, name FROM builders')) names.set(Number(r.id), r.name);
  }
  const byIssue = new Map<number, number[]>();
  for (const c of candidates) {
    const builderName = c.builderid === null ? null : (names.get(Number(c.builderid)) ?? null);
    const hit = firstMatch(matchers, { text: c.example, hash: c.hash, builderName });
    if (hit) (byIssue.get(hit.id) ?? byIssue.set(hit.id, []).get(hit.id)!).push(Number(c.id));
  }
  if (byIssue.size === 0) return 0;
  let n = 0;
  await db.transaction(async (t) => {
    n = 0;
    for (const [issueId, sigids] of byIssue) {
      n += await update(db, `UPDATE failure_signatures SET known_issueid = ?, classified_by = 'rule', classified_at = ? WHERE known_issueid IS NULL AND id IN (?)`, [issueId, now, sigids], t);
      await update(db, `UPDATE failure_occurrences SET known_issueid = ?, classified_by = 'rule' WHERE known_issueid IS NULL AND signatureid IN (?)`, [issueId, sigids], t);
    }
  }, { driverOnly: true });
  return n;
}

/** applyKnownIssues for one rule. */
export function applyKnownIssue(db: Database, id: number, now = epochSeconds()): Promise<number> {
  return applyKnownIssues(db, [id], now);
}
