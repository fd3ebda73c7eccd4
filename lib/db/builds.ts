import type { Transaction } from 'sequelize';
import type { PropertyMap } from './buildsets.js';
import type { Database } from './connection.js';
import type { BuildRow } from './model/index.js';
import { epochSeconds, insert, isUniqueViolation, select, selectOne, update, valuesList } from './query.js';

export type { BuildRow } from './model/index.js';

export interface AddBuildArgs {
  builderid: number;
  buildrequestid: number;
  workerid: number | null;
  masterid: number;
  state_string: string;
  /** Epoch seconds; default now. */
  started_at?: number;
}

const MAX_NUMBER_ATTEMPTS = 50;

/**
 * Inserts a build numbered max+1 for its builder, starting at 1 (Buildbot's numbering). Race: two
 * masters starting builds of one builder may read the same max; the unique (builderid, number)
 * index admits one insert, and the other re-reads the max and tries again.
 */
export async function addBuild(db: Database, args: AddBuildArgs, t?: Transaction): Promise<{ buildid: number; number: number }> {
  const startedAt = args.started_at ?? epochSeconds();
  for (let attempt = 0; ; attempt++) {
    // In a MySQL transaction a plain read would keep seeing its first snapshot; lock the range.
    const lock = t && db.caps.rowLocks ? ' FOR UPDATE' : '';
    const row = await selectOne<{ n: number | null }>(db, `SELECT MAX(number) AS n FROM builds WHERE builderid = ?${lock}`, [args.builderid], t);
    const number = (row?.n === null || row?.n === undefined ? 0 : Number(row.n)) + 1;
    try {
      const { insertId } = await insert(
        db,
        `INSERT INTO builds (number, builderid, buildrequestid, workerid, masterid, started_at, complete_at, state_string, results)
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL)`,
        [number, args.builderid, args.buildrequestid, args.workerid, args.masterid, startedAt, args.state_string],
        t,
      );
      return { buildid: insertId, number };
    } catch (err) {
      if (!isUniqueViolation(err) || attempt + 1 >= MAX_NUMBER_ATTEMPTS) throw err;
    }
  }
}

/** While the build is unfinished: a late write never relabels an ended build (one housekeeping ended RETRY). */
export async function setBuildStateString(db: Database, buildid: number, text: string, t?: Transaction): Promise<void> {
  await update(db, 'UPDATE builds SET state_string = ? WHERE id = ? AND complete_at IS NULL', [text, buildid], t);
}

/**
 * Sets the build's results and complete_at (epoch seconds), unless it has already ended; true when
 * this call ended it.
 */
export async function finishBuild(db: Database, buildid: number, results: number, now = epochSeconds(), t?: Transaction): Promise<boolean> {
  return (await update(db, 'UPDATE builds SET results = ?, complete_at = ? WHERE id = ? AND complete_at IS NULL', [results, now, buildid], t)) === 1;
}

export interface BuildEnd {
  results: number;
  completeAt: number;
  stateString: string;
}

/**
 * finishBuild and setBuildStateString in one statement: the build's final row. True when the
 * stored end is this one; false when the build had already ended otherwise — typically RETRY by
 * the housekeeping of a master that declared this one dead, which then released its requests:
 * the caller lost the build and must not complete them.
 *
 * Race: the first end written wins (`complete_at IS NULL` is checked by the writing statement:
 * a row lock on MySQL, the write lock on sqlite); a later one matches nothing. A write that is
 * retried after a lost connection may find its own first attempt stored: the stored row is then
 * compared with `done`, so a retry of the winner is not taken for a loss.
 */
export async function completeBuild(db: Database, buildid: number, done: BuildEnd, t?: Transaction): Promise<boolean> {
  const matched = await update(
    db,
    'UPDATE builds SET state_string = ?, results = ?, complete_at = ? WHERE id = ? AND complete_at IS NULL',
    [done.stateString, done.results, done.completeAt, buildid],
    t,
  );
  if (matched === 1) return true;
  const row = await getBuild(db, buildid, t);
  return row !== undefined && isEnd(row, done);
}

/**
 * Rewrites this master's own stored end `from` (results and complete_at as completeBuild wrote
 * them) as `to`, when it is still that end; true when it did. For a build that won its end but
 * then found its requests' claims gone: its requests run again elsewhere, so it must not stand as
 * their successful build.
 */
export async function reviseBuildEnd(db: Database, buildid: number, from: BuildEnd, to: { results: number; stateString: string }, t?: Transaction): Promise<boolean> {
  const matched = await update(
    db,
    'UPDATE builds SET state_string = ?, results = ? WHERE id = ? AND complete_at = ? AND results = ?',
    [to.stateString, to.results, buildid, from.completeAt, from.results],
    t,
  );
  if (matched === 1) return true;
  const row = await getBuild(db, buildid, t);
  return row !== undefined && isEnd(row, { ...to, completeAt: from.completeAt });
}

function isEnd(row: BuildRow, end: BuildEnd): boolean {
  return row.complete_at !== null && Number(row.complete_at) === end.completeAt && Number(row.results) === end.results && row.state_string === end.stateString;
}

/** A build's properties as stored: name → the JSON of the value, and the source. */
export type StoredProperties = Map<string, { value: string; source: string }>;

/**
 * Writes build properties as Buildbot does (build_properties.value is the JSON of the value alone,
 * the source has its own column): new names are inserted, changed ones updated, unchanged ones
 * left alone. Only the build's own master writes its properties, so reading first is safe; the
 * writes share a transaction when there are several.
 */
export async function setBuildProperties(db: Database, buildid: number, props: PropertyMap, t?: Transaction): Promise<void> {
  if (Object.keys(props).length === 0) return;
  await storeBuildProperties(db, buildid, props, await readStoredProperties(db, buildid, t), t);
}

/** The build's properties as stored, for storeBuildProperties. */
export async function readStoredProperties(db: Database, buildid: number, t?: Transaction): Promise<StoredProperties> {
  const stored: StoredProperties = new Map();
  for (const r of await select<{ name: string; value: string; source: string }>(
    db,
    'SELECT name, value, source FROM build_properties WHERE buildid = ?',
    [buildid],
    t,
  )) stored.set(r.name, { value: r.value, source: r.source });
  return stored;
}

/**
 * setBuildProperties for the build's own master, which keeps what it has stored in `stored` (read
 * nothing, and updated here once the writes succeed): the same rows, without the read first. A
 * new build starts with an empty map.
 */
export async function storeBuildProperties(db: Database, buildid: number, props: PropertyMap, stored: StoredProperties, t?: Transaction): Promise<void> {
  const inserts: unknown[] = [];
  const updates: unknown[][] = [];
  const changed: [string, { value: string; source: string }][] = [];
  for (const [name, [value, source]] of Object.entries(props)) {
    const json = JSON.stringify(value ?? null);
    const old = stored.get(name);
    if (!old) inserts.push(buildid, name, json, source);
    else if (old.value !== json || old.source !== source) updates.push([json, source, buildid, name]);
    else continue;
    changed.push([name, { value: json, source }]);
  }
  const writes = async (tx?: Transaction) => {
    for (const u of updates) await update(db, 'UPDATE build_properties SET value = ?, source = ? WHERE buildid = ? AND name = ?', u, tx);
    if (inserts.length > 0) {
      await insert(db, `INSERT INTO build_properties (buildid, name, value, source) VALUES ${valuesList(inserts.length / 4, 4)}`, inserts, tx);
    }
  };
  const statements = updates.length + (inserts.length > 0 ? 1 : 0);
  if (statements === 0) return;
  if (t || statements <= 1) await writes(t);
  else await db.transaction((tx) => writes(tx), { driverOnly: true });
  for (const [name, row] of changed) stored.set(name, row);
}

/** name → [value, source]. */
export async function getBuildProperties(db: Database, buildid: number, t?: Transaction): Promise<PropertyMap> {
  const out: PropertyMap = {};
  for (const r of await select<{ name: string; value: string; source: string }>(
    db,
    'SELECT name, value, source FROM build_properties WHERE buildid = ?',
    [buildid],
    t,
  )) out[r.name] = [JSON.parse(r.value), r.source];
  return out;
}

const BUILD_COLUMNS = 'id, number, builderid, buildrequestid, workerid, masterid, started_at, complete_at, state_string, results';

export function getBuild(db: Database, buildid: number, t?: Transaction): Promise<BuildRow | undefined> {
  return selectOne<BuildRow>(db, `SELECT ${BUILD_COLUMNS} FROM builds WHERE id = ?`, [buildid], t);
}

/** Builds of `masterid` that have not finished (complete_at unset), oldest first. */
export function getUnfinishedBuilds(db: Database, masterid: number, t?: Transaction): Promise<BuildRow[]> {
  return select<BuildRow>(
    db,
    `SELECT ${BUILD_COLUMNS} FROM builds WHERE masterid = ? AND complete_at IS NULL ORDER BY id`,
    [masterid],
    t,
  );
}

/** The builds that ran for a request, oldest first. */
export function getBuildsForRequest(db: Database, buildrequestid: number, t?: Transaction): Promise<BuildRow[]> {
  return select<BuildRow>(db, `SELECT ${BUILD_COLUMNS} FROM builds WHERE buildrequestid = ? ORDER BY id`, [buildrequestid], t);
}
