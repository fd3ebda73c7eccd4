import type { Transaction } from 'sequelize';
import { BuildmasterError } from '../errors/index.js';
import type { Database } from './connection.js';
import type { ChangeRow } from './model/index.js';
import { batches, epochSeconds, insert, select, selectOne, valuesList } from './query.js';
import { findOrCreateSourcestamp } from './sourcestamps.js';
import { findOrCreateUserByAttr, USER_SOURCES } from './users.js';

export type { ChangeRow } from './model/index.js';

/** A change as change sources describe it (Buildbot's addChange arguments). */
export interface ChangeSpec {
  author: string;
  committer?: string | null;
  files?: readonly string[];
  comments?: string;
  revision?: string | null;
  /** Epoch seconds; default now. */
  when_timestamp?: number | null;
  /** null: the default branch. */
  branch?: string | null;
  category?: string | null;
  revlink?: string | null;
  /** Stored as `[value, 'Change']`. */
  properties?: Record<string, unknown>;
  repository?: string;
  codebase?: string;
  project?: string;
  /** The version-control system ('git', 'hg', …): links the author to a user. Hooks give none. */
  src?: string | null;
}

/** A changes row with its files and properties (`{name: [value, source]}`). */
export interface Change extends ChangeRow {
  files: string[];
  properties: Record<string, [unknown, string]>;
}

/** Column sizes in characters (Buildbot's model; MySQL VARCHAR counts characters too). */
const LIMITS: readonly [keyof ChangeSpec, number][] = [
  ['author', 255], ['committer', 255], ['branch', 255], ['revision', 255], ['revlink', 256],
  ['category', 255], ['repository', 512], ['project', 512], ['codebase', 256],
];
const MAX_FILENAME = 1024;
const MAX_PROPERTY_NAME = 256;

function length(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Why `spec` cannot be stored, or undefined when it can: a missing author, a wrong type, or a value
 * longer than its column (Buildbot's checkLength). Hooks answer 400 with this reason.
 */
export function changeSpecProblem(spec: ChangeSpec): string | undefined {
  if (typeof spec.author !== 'string' || spec.author === '') return 'author is required';
  for (const [field, max] of LIMITS) {
    const v = spec[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return `${field} must be a string`;
    if (length(v) > max) return `${field} is longer than ${max} characters`;
  }
  if (spec.comments !== undefined && typeof spec.comments !== 'string') return 'comments must be a string';
  if (spec.when_timestamp !== undefined && spec.when_timestamp !== null && !Number.isFinite(spec.when_timestamp)) return 'when_timestamp must be a number';
  for (const f of spec.files ?? []) {
    if (typeof f !== 'string') return 'files must be strings';
    if (length(f) > MAX_FILENAME) return `file name longer than ${MAX_FILENAME} characters: ${f.slice(0, 60)}…`;
  }
  for (const name of Object.keys(spec.properties ?? {})) {
    if (length(name) > MAX_PROPERTY_NAME) return `property name longer than ${MAX_PROPERTY_NAME} characters`;
  }
  return undefined;
}

const CHANGE_COLUMNS = 'changeid, author, committer, comments, branch, revision, revlink, when_timestamp, category, repository, codebase, project, sourcestampid, parent_changeids';

/** The newest change on the same (branch, repository, project, codebase): Buildbot's single parent. */
async function parentChangeId(db: Database, spec: Required<Pick<ChangeSpec, 'repository' | 'project' | 'codebase'>> & { branch: string | null }, t: Transaction): Promise<number | null> {
  const branchClause = spec.branch === null ? 'branch IS NULL' : 'branch = ?';
  const params = spec.branch === null ? [] : [spec.branch];
  const row = await selectOne<{ changeid: number }>(
    db,
    `SELECT changeid FROM changes WHERE ${branchClause} AND repository = ? AND project = ? AND codebase = ? ORDER BY changeid DESC LIMIT 1`,
    [...params, spec.repository, spec.project, spec.codebase],
    t,
  );
  return row ? Number(row.changeid) : null;
}

async function addChangeIn(db: Database, spec: ChangeSpec, t: Transaction, now: number): Promise<number> {
  const problem = changeSpecProblem(spec);
  if (problem) throw new BuildmasterError(`invalid change: ${problem}`, { userError: true });
  const branch = spec.branch ?? null;
  const revision = spec.revision ?? null;
  const repository = spec.repository ?? '';
  const project = spec.project ?? '';
  const codebase = spec.codebase ?? '';
  const ssid = await findOrCreateSourcestamp(db, { branch, revision, repository, project, codebase }, t, now);
  const parent = await parentChangeId(db, { branch, repository, project, codebase }, t);
  const when = spec.when_timestamp === undefined || spec.when_timestamp === null ? now : Math.floor(spec.when_timestamp);
  const { insertId: changeid } = await insert(
    db,
    `INSERT INTO changes (author, committer, comments, branch, revision, revlink, when_timestamp, category, repository, codebase, project, sourcestampid, parent_changeids)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [spec.author, spec.committer ?? null, spec.comments ?? '', branch, revision, spec.revlink ?? '', when, spec.category ?? null, repository, codebase, project, ssid, parent],
    t,
  );
  const files = spec.files ?? [];
  for (const part of batches(db, files, 2)) {
    await insert(db, `INSERT INTO change_files (changeid, filename) VALUES ${valuesList(part.length, 2)}`, part.flatMap((f) => [changeid, f]), t);
  }
  const props = Object.entries(spec.properties ?? {});
  for (const part of batches(db, props, 3)) {
    await insert(
      db,
      `INSERT INTO change_properties (changeid, property_name, property_value) VALUES ${valuesList(part.length, 3)}`,
      part.flatMap(([name, value]) => [changeid, name, JSON.stringify([value, 'Change'])]),
      t,
    );
  }
  if (spec.src && USER_SOURCES.includes(spec.src)) {
    const uid = await findOrCreateUserByAttr(db, spec.src, spec.author, t);
    if (uid !== undefined) await insert(db, 'INSERT INTO change_users (changeid, uid) VALUES (?, ?)', [changeid, uid], t);
  }
  return changeid;
}

/**
 * Stores a change (Buildbot's data and db addChange): its sourcestamp found or created by ss_hash,
 * its parent the newest change on the same branch/repository/project/codebase, its files, its
 * properties as `[value, 'Change']`, and for a VCS `src` its author linked to a user. All in one
 * transaction (`t`, or a new one), so nobody sees a change without its files. Throws a user error
 * for a change that does not fit (see changeSpecProblem).
 */
export async function addChange(db: Database, spec: ChangeSpec, t?: Transaction, now = epochSeconds()): Promise<number> {
  if (t) return addChangeIn(db, spec, t, now);
  return db.transaction((tx) => addChangeIn(db, spec, tx, now));
}

/** Buildbot reads a property stored without its source as sourced 'Change'. */
function splitProperty(json: string): [unknown, string] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (Array.isArray(v) && v.length === 2 && v[1] === 'Change') return [v[0], 'Change'];
  return [v, 'Change'];
}

function toNumber(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** Rows → changes with their files and properties, in the rows' order. */
async function withDetails(db: Database, rows: ChangeRow[], t?: Transaction): Promise<Change[]> {
  const byId = new Map<number, Change>();
  const out = rows.map((r) => {
    const c: Change = {
      ...r,
      changeid: Number(r.changeid),
      when_timestamp: Number(r.when_timestamp),
      sourcestampid: Number(r.sourcestampid),
      parent_changeids: toNumber(r.parent_changeids),
      files: [],
      properties: {},
    };
    byId.set(c.changeid, c);
    return c;
  });
  for (const ids of batches(db, [...byId.keys()])) {
    const files = await select<{ changeid: number; filename: string }>(db, 'SELECT changeid, filename FROM change_files WHERE changeid IN (?)', [ids], t);
    for (const f of files) byId.get(Number(f.changeid))?.files.push(f.filename);
    const props = await select<{ changeid: number; property_name: string; property_value: string }>(
      db,
      'SELECT changeid, property_name, property_value FROM change_properties WHERE changeid IN (?)',
      [ids],
      t,
    );
    for (const p of props) {
      const value = splitProperty(p.property_value);
      const c = byId.get(Number(p.changeid));
      if (c && value) c.properties[p.property_name] = value;
    }
  }
  return out;
}

export async function getChange(db: Database, changeid: number, t?: Transaction): Promise<Change | undefined> {
  const row = await selectOne<ChangeRow>(db, `SELECT ${CHANGE_COLUMNS} FROM changes WHERE changeid = ?`, [changeid], t);
  return row ? (await withDetails(db, [row], t))[0] : undefined;
}

/** Changes by id, in the order of `changeids` (missing ones left out). */
export async function getChanges(db: Database, changeids: readonly number[], t?: Transaction): Promise<Change[]> {
  const rows: ChangeRow[] = [];
  for (const ids of batches(db, [...new Set(changeids)])) {
    rows.push(...(await select<ChangeRow>(db, `SELECT ${CHANGE_COLUMNS} FROM changes WHERE changeid IN (?)`, [ids], t)));
  }
  const all = new Map((await withDetails(db, rows, t)).map((c) => [c.changeid, c]));
  return changeids.map((id) => all.get(id)).filter((c): c is Change => c !== undefined);
}

/**
 * Up to `limit` changes with an id above `changeid`, oldest first: what a scheduler on another
 * master (which missed the bus event) has not seen yet.
 */
export async function getChangesSince(db: Database, changeid: number, limit: number, t?: Transaction): Promise<Change[]> {
  const rows = await select<ChangeRow>(db, `SELECT ${CHANGE_COLUMNS} FROM changes WHERE changeid > ? ORDER BY changeid LIMIT ?`, [changeid, limit], t);
  return withDetails(db, rows, t);
}

/** The newest change id, or 0 when there is none (Buildbot's getLatestChangeid). */
export async function getLatestChangeId(db: Database, t?: Transaction): Promise<number> {
  const row = await selectOne<{ id: number | null }>(db, 'SELECT MAX(changeid) AS id FROM changes', [], t);
  return Number(row?.id ?? 0);
}

/** The newest change made for sourcestamp `ssid` (Buildbot's getChangeFromSSid). */
export async function getChangeFromSourcestamp(db: Database, ssid: number, t?: Transaction): Promise<Change | undefined> {
  const row = await selectOne<ChangeRow>(db, `SELECT ${CHANGE_COLUMNS} FROM changes WHERE sourcestampid = ? ORDER BY changeid DESC LIMIT 1`, [ssid], t);
  return row ? (await withDetails(db, [row], t))[0] : undefined;
}

interface BuildStamp {
  id: number;
  repository: string;
  branch: string | null;
  codebase: string;
}

function buildStamps(db: Database, buildid: number, t?: Transaction): Promise<BuildStamp[]> {
  return select<BuildStamp>(
    db,
    `SELECT ss.id, ss.repository, ss.branch, ss.codebase FROM builds b
       JOIN buildrequests br ON br.id = b.buildrequestid
       JOIN buildset_sourcestamps bss ON bss.buildsetid = br.buildsetid
       JOIN sourcestamps ss ON ss.id = bss.sourcestampid
     WHERE b.id = ? ORDER BY bss.id`,
    [buildid],
    t,
  );
}

function stampKeys(stamps: BuildStamp[]): string {
  return [...new Set(stamps.map((s) => JSON.stringify([s.repository, s.branch, s.codebase])))].sort().join('\n');
}

/** Buildbot's getPrevSuccessfulBuild: the newest earlier SUCCESS build of the builder on the same repositories/branches/codebases. */
async function previousSuccessfulBuild(db: Database, builderid: number, number: number, stamps: BuildStamp[], t?: Transaction): Promise<number | undefined> {
  const want = stampKeys(stamps);
  const page = 100;
  for (let offset = 0; ; offset += page) {
    const builds = await select<{ id: number }>(
      db,
      'SELECT id FROM builds WHERE builderid = ? AND number < ? AND results = 0 ORDER BY number DESC LIMIT ? OFFSET ?',
      [builderid, number, page, offset],
      t,
    );
    if (builds.length === 0) return undefined;
    for (const b of builds) if (stampKeys(await buildStamps(db, Number(b.id), t)) === want) return Number(b.id);
  }
}

/**
 * The changes a build contains (Buildbot's getChangesForBuild): per codebase, the build's change
 * and its parents back to (not including) the change of the previous successful build of the same
 * builder on the same sources — or all of them when there is none.
 */
export async function getChangesForBuild(db: Database, buildid: number, t?: Transaction): Promise<Change[]> {
  const build = await selectOne<{ builderid: number; number: number }>(db, 'SELECT builderid, number FROM builds WHERE id = ?', [buildid], t);
  if (!build) return [];
  const stamps = await buildStamps(db, buildid, t);
  const from = new Map<string, Change | undefined>();
  for (const ss of stamps) from.set(ss.codebase, await getChangeFromSourcestamp(db, Number(ss.id), t));
  const to = new Map<string, number | null>();
  const prev = await previousSuccessfulBuild(db, Number(build.builderid), Number(build.number), stamps, t);
  if (prev !== undefined) {
    for (const ss of await buildStamps(db, prev, t)) to.set(ss.codebase, (await getChangeFromSourcestamp(db, Number(ss.id), t))?.changeid ?? null);
  }
  const out: Change[] = [];
  for (const [codebase, first] of from) {
    const stop = to.get(codebase) ?? null;
    let change = first;
    if (!change || change.changeid === stop) continue;
    out.push(change);
    while (change.parent_changeids !== null && change.parent_changeids !== stop) {
      change = await getChange(db, change.parent_changeids, t);
      // Buildbot ticket 3461: a parent id may point at a pruned change.
      if (!change) break;
      out.push(change);
    }
  }
  return out;
}
