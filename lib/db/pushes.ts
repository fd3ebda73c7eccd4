import type { Transaction } from 'sequelize';
import { BuildmasterError } from '../errors/index.js';
import { addChange, getChanges, type Change, type ChangeSpec } from './changes.js';
import type { Database } from './connection.js';
import { batches, epochSeconds, insert, select, selectOne, valuesList } from './query.js';

/**
 * The pushlog (our tables pushes and push_changes, migration 003): changes that arrived together —
 * one poll's new commits on one branch, one hook payload, one sendchange — stored as one push, in
 * the order they were made.
 */

export interface PushSpec {
  repository: string;
  /** null: the default branch. */
  branch: string | null;
  author: string;
  /** Epoch seconds; default now. */
  pushed_at?: number;
  /** Where it came from: 'git', 'hg' (pollers), 'base', 'github' (hooks). */
  source: string;
  /** Oldest first; at least one. */
  changes: readonly ChangeSpec[];
}

export interface PushRow {
  id: number;
  repository: string;
  branch: string | null;
  author: string;
  pushed_at: number;
  source: string;
}

/** A build of one of a push's changes (its sourcestamp was built). */
export interface PushBuild {
  buildid: number;
  number: number;
  builderid: number;
  buildrequestid: number;
  buildsetid: number;
  workerid: number | null;
  masterid: number;
  started_at: number;
  complete_at: number | null;
  state_string: string;
  results: number | null;
  /** The change whose sourcestamp it built. */
  changeid: number;
}

export interface Push {
  push: PushRow;
  /** Oldest first. */
  changes: Change[];
  /** Oldest first. */
  builds: PushBuild[];
}

const MAX_AUTHOR = 255;
const MAX_SOURCE = 32;

function cut(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max).join('');
}

async function addPushIn(db: Database, spec: PushSpec, t: Transaction, now: number): Promise<{ pushid: number; changeids: number[] }> {
  if (spec.changes.length === 0) throw new BuildmasterError('a push needs at least one change');
  const { insertId: pushid } = await insert(
    db,
    'INSERT INTO pushes (repository, branch, author, pushed_at, source) VALUES (?, ?, ?, ?, ?)',
    [spec.repository, spec.branch, cut(spec.author, MAX_AUTHOR), Math.floor(spec.pushed_at ?? now), cut(spec.source, MAX_SOURCE)],
    t,
  );
  const changeids: number[] = [];
  for (const c of spec.changes) changeids.push(await addChange(db, c, t, now));
  const positions = changeids.map((id, i) => [pushid, id, i] as const);
  for (const part of batches(db, positions, 3)) {
    await insert(db, `INSERT INTO push_changes (pushid, changeid, position) VALUES ${valuesList(part.length, 3)}`, part.flat(), t);
  }
  return { pushid, changeids };
}

/**
 * Stores a push and its changes (addChange for each, oldest first) in ONE transaction: the push
 * and all its changes appear together or not at all. Pass `t` to add more to the same transaction
 * (a poller advances its state there, so a crash can neither lose nor repeat the push).
 */
export async function addPush(db: Database, spec: PushSpec, t?: Transaction, now = epochSeconds()): Promise<{ pushid: number; changeids: number[] }> {
  if (t) return addPushIn(db, spec, t, now);
  return db.transaction((tx) => addPushIn(db, spec, tx, now));
}

const PUSH_COLUMNS = 'id, repository, branch, author, pushed_at, source';

function toPush(r: PushRow): PushRow {
  return { ...r, id: Number(r.id), pushed_at: Number(r.pushed_at) };
}

type BuildJoinRow = PushBuild & { pushid: number };

/** Changes and builds of the given pushes, attached in order. */
async function complete(db: Database, rows: PushRow[], t?: Transaction): Promise<Push[]> {
  const pushes = rows.map((r) => ({ push: toPush(r), changes: [] as Change[], builds: [] as PushBuild[] }));
  const byId = new Map(pushes.map((p) => [p.push.id, p]));
  for (const ids of batches(db, [...byId.keys()])) {
    const links = await select<{ pushid: number; changeid: number }>(
      db,
      'SELECT pushid, changeid FROM push_changes WHERE pushid IN (?) ORDER BY pushid, position',
      [ids],
      t,
    );
    const changes = new Map((await getChanges(db, links.map((l) => Number(l.changeid)), t)).map((c) => [c.changeid, c]));
    for (const l of links) {
      const c = changes.get(Number(l.changeid));
      if (c) byId.get(Number(l.pushid))?.changes.push(c);
    }
    // change → sourcestamp → buildsets → requests → builds; indexed at every step (003 adds the
    // buildset_sourcestamps(sourcestampid) index Buildbot lacks).
    const builds = await select<BuildJoinRow>(
      db,
      `SELECT pc.pushid, c.changeid, b.id AS buildid, b.number, b.builderid, b.buildrequestid, br.buildsetid, b.workerid,
              b.masterid, b.started_at, b.complete_at, b.state_string, b.results
         FROM push_changes pc
         JOIN changes c ON c.changeid = pc.changeid
         JOIN buildset_sourcestamps bss ON bss.sourcestampid = c.sourcestampid
         JOIN buildrequests br ON br.buildsetid = bss.buildsetid
         JOIN builds b ON b.buildrequestid = br.id
        WHERE pc.pushid IN (?)
        ORDER BY b.id`,
      [ids],
      t,
    );
    for (const b of builds) {
      const p = byId.get(Number(b.pushid));
      if (!p || p.builds.some((x) => x.buildid === Number(b.buildid))) continue;
      p.builds.push({
        buildid: Number(b.buildid),
        number: Number(b.number),
        builderid: Number(b.builderid),
        buildrequestid: Number(b.buildrequestid),
        buildsetid: Number(b.buildsetid),
        workerid: b.workerid === null ? null : Number(b.workerid),
        masterid: Number(b.masterid),
        started_at: Number(b.started_at),
        complete_at: b.complete_at === null ? null : Number(b.complete_at),
        state_string: b.state_string,
        results: b.results === null ? null : Number(b.results),
        changeid: Number(b.changeid),
      });
    }
  }
  return pushes;
}

export interface LastPushesQuery {
  /** Only pushes to this repository. */
  repository?: string;
  /** Only pushes to this branch (null: the default branch); undefined: any branch. */
  branch?: string | null;
  limit: number;
  /** Only pushes older than this push id (the next page). */
  before?: number;
}

/** The last `limit` pushes (newest first), each with its changes and the builds of them. */
export async function lastPushes(db: Database, q: LastPushesQuery, t?: Transaction): Promise<Push[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.repository !== undefined) {
    where.push('repository = ?');
    params.push(q.repository);
  }
  if (q.branch === null) where.push('branch IS NULL');
  else if (q.branch !== undefined) {
    where.push('branch = ?');
    params.push(q.branch);
  }
  if (q.before !== undefined) {
    where.push('id < ?');
    params.push(q.before);
  }
  const rows = await select<PushRow>(
    db,
    `SELECT ${PUSH_COLUMNS} FROM pushes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    [...params, Math.max(0, Math.floor(q.limit))],
    t,
  );
  return complete(db, rows, t);
}

export async function getPush(db: Database, pushid: number, t?: Transaction): Promise<Push | undefined> {
  const row = await selectOne<PushRow>(db, `SELECT ${PUSH_COLUMNS} FROM pushes WHERE id = ?`, [pushid], t);
  return row ? (await complete(db, [row], t))[0] : undefined;
}

/** The push a change arrived in, if it came with one. */
export async function getPushIdOfChange(db: Database, changeid: number, t?: Transaction): Promise<number | undefined> {
  const row = await selectOne<{ pushid: number }>(db, 'SELECT pushid FROM push_changes WHERE changeid = ?', [changeid], t);
  return row ? Number(row.pushid) : undefined;
}
