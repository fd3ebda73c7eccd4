import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import { nameHash } from './hash.js';
import type { ChangeRow, SchedulerRow } from './model/index.js';
import { batches, insert, insertIgnoringDuplicates, remove, select, selectOne, update } from './query.js';

/**
 * Schedulers (Buildbot's db/schedulers.py): their rows, the claim that makes one master run each
 * (scheduler_masters, PK schedulerid), the changes they have classified but not yet built
 * (scheduler_changes), and the reads of changes and buildsets they consume. Change sources are
 * clustered the same way (changesource_masters); a dead master's claims on both go together.
 */

export type { SchedulerRow } from './model/index.js';

export interface SchedulerWithMaster extends SchedulerRow {
  /** The master running it, or null when none does. */
  masterid: number | null;
}

/** The id of scheduler `name`, created (enabled) when new. */
export async function findSchedulerId(db: Database, name: string, t?: Transaction): Promise<number> {
  const hash = nameHash(name);
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM schedulers WHERE name_hash = ?', params: [hash] },
    { sql: 'INSERT INTO schedulers (name, name_hash, enabled) VALUES (?, ?, 1)', params: [name, hash] },
    t,
  );
  return id;
}

const SCHEDULER_COLUMNS = 's.id, s.name, s.name_hash, s.enabled, sm.masterid';

export function getScheduler(db: Database, schedulerid: number, t?: Transaction): Promise<SchedulerWithMaster | undefined> {
  return selectOne<SchedulerWithMaster>(
    db,
    `SELECT ${SCHEDULER_COLUMNS} FROM schedulers s LEFT JOIN scheduler_masters sm ON sm.schedulerid = s.id WHERE s.id = ?`,
    [schedulerid],
    t,
  );
}

/** Every scheduler, with the master running it; `masterid` narrows to that master's. */
export function getSchedulers(db: Database, opts: { masterid?: number } = {}, t?: Transaction): Promise<SchedulerWithMaster[]> {
  const where = opts.masterid !== undefined ? 'WHERE sm.masterid = ?' : '';
  return select<SchedulerWithMaster>(
    db,
    `SELECT ${SCHEDULER_COLUMNS} FROM schedulers s LEFT JOIN scheduler_masters sm ON sm.schedulerid = s.id ${where} ORDER BY s.id`,
    opts.masterid !== undefined ? [opts.masterid] : [],
    t,
  );
}

export async function setSchedulerEnabled(db: Database, schedulerid: number, enabled: boolean, t?: Transaction): Promise<void> {
  await update(db, 'UPDATE schedulers SET enabled = ? WHERE id = ?', [enabled ? 1 : 0, schedulerid], t);
}

/**
 * Try to make `masterid` the master running the scheduler. Race: the claim is the INSERT of the
 * scheduler_masters row, whose primary key is schedulerid, so of any number of masters inserting
 * at once exactly one row exists afterwards; reading it back tells each caller whether it is its
 * own (also true when it already held it). Losing is a value: `{ claimed: false, owner }`.
 *
 * Fenced like claimRequests' onlyWhileActive: the INSERT … SELECT adds the row only while the
 * claimer's masters row says active, and an inactive claimer is never told it holds one, so a
 * master declared dead cannot keep or take a scheduler (on MySQL the INSERT's shared lock on the
 * masters row orders it with the expirer's markMasterInactive; sqlite serializes writes). A row
 * left by an inactive master (its expirer died before removing it) is taken over.
 */
export async function claimScheduler(db: Database, schedulerid: number, masterid: number): Promise<{ claimed: boolean; owner: number | null }> {
  for (let attempt = 0; ; attempt++) {
    await insertIgnoringDuplicates(db, 'scheduler_masters (schedulerid, masterid) SELECT ?, id FROM masters WHERE id = ? AND active = 1', [schedulerid, masterid]);
    const row = await selectOne<{ masterid: number; holderActive: number | null; meActive: number | null }>(
      db,
      `SELECT sm.masterid, h.active AS holderActive, me.active AS meActive
         FROM scheduler_masters sm LEFT JOIN masters h ON h.id = sm.masterid LEFT JOIN masters me ON me.id = ?
        WHERE sm.schedulerid = ?`,
      [masterid, schedulerid],
    );
    const owner = row ? Number(row.masterid) : null;
    const active = Number(row?.meActive) === 1;
    if (attempt === 0 && row && owner !== masterid && active && Number(row.holderActive) !== 1) {
      // Only while that holder is still inactive: it may have rejoined since we read it.
      await remove(db, 'DELETE FROM scheduler_masters WHERE schedulerid = ? AND masterid = ? AND masterid NOT IN (SELECT id FROM masters WHERE active = 1)', [schedulerid, owner]);
      continue;
    }
    return { claimed: owner === masterid && active, owner };
  }
}

/**
 * True while `masterid` holds the scheduler's claim. Inside a transaction this is the fence that
 * makes the scheduler's writes conditional on still running it: on MySQL the row stays locked
 * (FOR UPDATE) until the transaction ends, so the expiry of this master (which deletes the row)
 * waits for it; sqlite's write transactions run one at a time anyway.
 */
export async function holdsScheduler(db: Database, schedulerid: number, masterid: number, t?: Transaction): Promise<boolean> {
  const lock = t && db.caps.rowLocks ? ' FOR UPDATE' : '';
  const row = await selectOne<{ masterid: number }>(db, `SELECT masterid FROM scheduler_masters WHERE schedulerid = ?${lock}`, [schedulerid], t);
  return row !== undefined && Number(row.masterid) === masterid;
}

/** Gives the scheduler up (only this master's claim is removed). */
export async function releaseScheduler(db: Database, schedulerid: number, masterid: number, t?: Transaction): Promise<void> {
  await remove(db, 'DELETE FROM scheduler_masters WHERE schedulerid = ? AND masterid = ?', [schedulerid, masterid], t);
}

/** Removes every scheduler and change source claim of `masterid` (a dead master's). */
export async function removeMasterServiceClaims(db: Database, masterid: number, t?: Transaction): Promise<{ schedulers: number; changesources: number }> {
  const schedulers = await remove(db, 'DELETE FROM scheduler_masters WHERE masterid = ?', [masterid], t);
  const changesources = await remove(db, 'DELETE FROM changesource_masters WHERE masterid = ?', [masterid], t);
  return { schedulers, changesources };
}

// --- change classifications ---

export interface Classification {
  changeid: number;
  important: boolean;
  /** Of the change, for schedulers that keep one timer per branch. */
  branch: string | null;
  repository: string;
  codebase: string;
  project: string;
}

/** Records (or re-records) changeid → important for the scheduler. */
export async function classifyChanges(db: Database, schedulerid: number, classes: ReadonlyMap<number, boolean>, t?: Transaction): Promise<void> {
  for (const [changeid, important] of classes) {
    const flag = important ? 1 : 0;
    const matched = await update(db, 'UPDATE scheduler_changes SET important = ? WHERE schedulerid = ? AND changeid = ?', [flag, schedulerid, changeid], t);
    if (matched === 0) await insert(db, 'INSERT INTO scheduler_changes (schedulerid, changeid, important) VALUES (?, ?, ?)', [schedulerid, changeid, flag], t);
  }
}

/** The scheduler's classified changes, oldest first, with the fields that name their timer. */
export async function getChangeClassifications(db: Database, schedulerid: number, t?: Transaction): Promise<Classification[]> {
  const rows = await select<{ changeid: number; important: number | null; branch: string | null; repository: string; codebase: string; project: string }>(
    db,
    `SELECT sc.changeid, sc.important, c.branch, c.repository, c.codebase, c.project
       FROM scheduler_changes sc JOIN changes c ON c.changeid = sc.changeid
      WHERE sc.schedulerid = ? ORDER BY sc.changeid`,
    [schedulerid],
    t,
  );
  return rows.map((r) => ({ ...r, changeid: Number(r.changeid), important: Boolean(r.important) }));
}

/** Forgets classifications: the given changeids, or all below `lessThan`, or all. */
export async function flushChangeClassifications(
  db: Database,
  schedulerid: number,
  which: { changeids?: readonly number[]; lessThan?: number } = {},
  t?: Transaction,
): Promise<void> {
  if (which.changeids) {
    for (const ids of batches(db, which.changeids)) {
      await remove(db, 'DELETE FROM scheduler_changes WHERE schedulerid = ? AND changeid IN (?)', [schedulerid, ids], t);
    }
  } else if (which.lessThan !== undefined) {
    await remove(db, 'DELETE FROM scheduler_changes WHERE schedulerid = ? AND changeid < ?', [schedulerid, which.lessThan], t);
  } else {
    await remove(db, 'DELETE FROM scheduler_changes WHERE schedulerid = ?', [schedulerid], t);
  }
}

// --- the changes schedulers consume ---

/** A change as a scheduler looks at it: the changes row with its files and properties. */
export type SchedulerChange = Omit<ChangeRow, 'parent_changeids'> & {
  files: string[];
  /** name → [value, source]. */
  properties: Record<string, [unknown, string]>;
};

const CHANGE_COLUMNS =
  'changeid, author, committer, comments, branch, revision, revlink, when_timestamp, category, repository, codebase, project, sourcestampid';

export async function maxChangeId(db: Database, t?: Transaction): Promise<number> {
  const row = await selectOne<{ m: number | null }>(db, 'SELECT MAX(changeid) AS m FROM changes', [], t);
  return Number(row?.m ?? 0);
}

/** Changes with id > `afterId`, oldest first, at most `limit`. */
export async function getChangesAfter(db: Database, afterId: number, limit: number, t?: Transaction): Promise<SchedulerChange[]> {
  const rows = await select<Omit<SchedulerChange, 'files' | 'properties'>>(
    db,
    `SELECT ${CHANGE_COLUMNS} FROM changes WHERE changeid > ? ORDER BY changeid LIMIT ?`,
    [afterId, limit],
    t,
  );
  return withDetails(db, rows, t);
}

export async function getChangesByIds(db: Database, changeids: readonly number[], t?: Transaction): Promise<SchedulerChange[]> {
  if (changeids.length === 0) return [];
  const rows: Omit<SchedulerChange, 'files' | 'properties'>[] = [];
  for (const ids of batches(db, changeids)) {
    rows.push(...(await select<Omit<SchedulerChange, 'files' | 'properties'>>(db, `SELECT ${CHANGE_COLUMNS} FROM changes WHERE changeid IN (?)`, [ids], t)));
  }
  rows.sort((a, b) => Number(a.changeid) - Number(b.changeid));
  return withDetails(db, rows, t);
}

async function withDetails(db: Database, rows: Omit<SchedulerChange, 'files' | 'properties'>[], t?: Transaction): Promise<SchedulerChange[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => Number(r.changeid));
  const files = new Map<number, string[]>();
  const props = new Map<number, Record<string, [unknown, string]>>();
  for (const chunk of batches(db, ids)) {
    for (const f of await select<{ changeid: number; filename: string }>(db, 'SELECT changeid, filename FROM change_files WHERE changeid IN (?)', [chunk], t)) {
      const list = files.get(Number(f.changeid)) ?? [];
      list.push(f.filename);
      files.set(Number(f.changeid), list);
    }
    const propRows = await select<{ changeid: number; property_name: string; property_value: string }>(
      db,
      'SELECT changeid, property_name, property_value FROM change_properties WHERE changeid IN (?)',
      [chunk],
      t,
    );
    for (const p of propRows) {
      const map = props.get(Number(p.changeid)) ?? {};
      map[p.property_name] = decodePair(p.property_value);
      props.set(Number(p.changeid), map);
    }
  }
  return rows.map((r) => ({
    ...r,
    changeid: Number(r.changeid),
    when_timestamp: Number(r.when_timestamp),
    sourcestampid: Number(r.sourcestampid),
    files: files.get(Number(r.changeid)) ?? [],
    properties: props.get(Number(r.changeid)) ?? {},
  }));
}

/** Buildbot stores change properties as JSON `[value, source]`. */
function decodePair(text: string): [unknown, string] {
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[1] === 'string') return [v[0], v[1]];
    return [v, 'Change'];
  } catch {
    return [text, 'Change'];
  }
}

// --- the buildsets a Dependent scheduler watches ---

/** A buildset as a Dependent scheduler needs it. */
export interface WatchedBuildset {
  id: number;
  /** The `scheduler` property (the scheduler that created it), or null. */
  scheduler: string | null;
  complete: boolean;
  results: number | null;
  ssids: number[];
}

export async function maxBuildsetId(db: Database, t?: Transaction): Promise<number> {
  const row = await selectOne<{ m: number | null }>(db, 'SELECT MAX(id) AS m FROM buildsets', [], t);
  return Number(row?.m ?? 0);
}

/** Ids and creating scheduler of the buildsets with id > `afterId`, oldest first, at most `limit`. */
export async function getBuildsetsAfter(db: Database, afterId: number, limit: number, t?: Transaction): Promise<{ id: number; scheduler: string | null }[]> {
  const rows = await select<{ id: number; property_value: string | null }>(
    db,
    `SELECT b.id, p.property_value FROM buildsets b
       LEFT JOIN buildset_properties p ON p.buildsetid = b.id AND p.property_name = 'scheduler'
      WHERE b.id > ? ORDER BY b.id LIMIT ?`,
    [afterId, limit],
    t,
  );
  return rows.map((r) => ({ id: Number(r.id), scheduler: schedulerOf(r.property_value) }));
}

/** The given buildsets (missing ones left out), with their state and sourcestamp ids. */
export async function getWatchedBuildsets(db: Database, bsids: readonly number[], t?: Transaction): Promise<WatchedBuildset[]> {
  const out = new Map<number, WatchedBuildset>();
  for (const ids of batches(db, bsids)) {
    const rows = await select<{ id: number; complete: number; results: number | null; property_value: string | null }>(
      db,
      `SELECT b.id, b.complete, b.results, p.property_value FROM buildsets b
         LEFT JOIN buildset_properties p ON p.buildsetid = b.id AND p.property_name = 'scheduler'
        WHERE b.id IN (?)`,
      [ids],
      t,
    );
    for (const r of rows) {
      out.set(Number(r.id), { id: Number(r.id), scheduler: schedulerOf(r.property_value), complete: Boolean(r.complete), results: r.results, ssids: [] });
    }
    const stamps = await select<{ buildsetid: number; sourcestampid: number }>(
      db,
      'SELECT buildsetid, sourcestampid FROM buildset_sourcestamps WHERE buildsetid IN (?) ORDER BY id',
      [ids],
      t,
    );
    for (const s of stamps) out.get(Number(s.buildsetid))?.ssids.push(Number(s.sourcestampid));
  }
  return [...out.values()].sort((a, b) => a.id - b.id);
}

function schedulerOf(json: string | null): string | null {
  if (json === null) return null;
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : null;
  } catch {
    return null;
  }
}
