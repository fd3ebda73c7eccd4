import type { Transaction } from 'sequelize';
import { worstStatus, SUCCESS } from '../process/results.js';
import type { Database } from './connection.js';
import type { BuildsetRow } from './model/index.js';
import { distinct, epochSeconds, insert, select, selectOne, update, valuesList } from './query.js';
import { findOrCreateSourcestamp, getSourcestampsOfBuildset, type SourcestampSpec, type SourcestampWithPatch } from './sourcestamps.js';

export type { BuildsetRow } from './model/index.js';

/** Properties as Buildbot keeps them: name → [value, source]. */
export type PropertyMap = Record<string, [unknown, string]>;

export interface AddBuildsetArgs {
  /** Existing sourcestamp ids, or stamps to find or create. */
  sourcestamps: (number | SourcestampSpec)[];
  reason: string | null;
  properties: PropertyMap;
  /** One request per builder (duplicates are ignored). */
  builderids: number[];
  external_idstring?: string | null;
  parent_buildid?: number | null;
  parent_relationship?: string | null;
  /** The requests' priority (Buildbot 3.7 always writes 0). */
  priority?: number;
  waited_for?: boolean;
  /** Epoch seconds; default now. */
  submitted_at?: number;
}

export interface AddedBuildset {
  bsid: number;
  /** builderid → brid */
  brids: Record<number, number>;
  /** The buildset's sourcestamp ids, in order (as getBuildsetSourcestamps returns them). */
  ssids: number[];
}

/**
 * Inserts a buildset with its properties, sourcestamps and one build request per builder, all in
 * one transaction: no master ever sees a buildset without its requests. Pending results are −1.
 * Pass `t` to make it part of a larger transaction.
 */
export async function addBuildset(db: Database, args: AddBuildsetArgs, t?: Transaction): Promise<AddedBuildset> {
  const submittedAt = args.submitted_at ?? epochSeconds();
  // Stamps first, outside the transaction as in Buildbot: they are shared, deduplicated rows that
  // are harmless if the buildset then fails, and the write transaction stays short.
  const ssids: number[] = [];
  for (const ss of args.sourcestamps) ssids.push(typeof ss === 'number' ? ss : await findOrCreateSourcestamp(db, ss, t, submittedAt));
  if (t) return insertBuildset(db, args, submittedAt, ssids, t);
  return db.transaction((tx) => insertBuildset(db, args, submittedAt, ssids, tx), { driverOnly: true });
}

async function insertBuildset(db: Database, args: AddBuildsetArgs, submittedAt: number, ssids: number[], t: Transaction): Promise<AddedBuildset> {

  const { insertId: bsid } = await insert(
    db,
    `INSERT INTO buildsets (external_idstring, reason, submitted_at, complete, complete_at, results, parent_buildid, parent_relationship)
     VALUES (?, ?, ?, 0, NULL, -1, ?, ?)`,
    [args.external_idstring ?? null, args.reason ?? null, submittedAt, args.parent_buildid ?? null, args.parent_relationship ?? null],
    t,
  );

  const props = Object.entries(args.properties ?? {});
  if (props.length > 0) {
    await insert(
      db,
      `INSERT INTO buildset_properties (buildsetid, property_name, property_value) VALUES ${valuesList(props.length, 3)}`,
      props.flatMap(([name, [value, source]]) => [bsid, name, JSON.stringify([value, source])]),
      t,
    );
  }

  const uniqueSsids = distinct(ssids);
  if (uniqueSsids.length > 0) {
    await insert(
      db,
      `INSERT INTO buildset_sourcestamps (buildsetid, sourcestampid) VALUES ${valuesList(uniqueSsids.length, 2)}`,
      uniqueSsids.flatMap((ssid) => [bsid, ssid]),
      t,
    );
  }

  const builderids = distinct(args.builderids);
  const brids: Record<number, number> = {};
  if (builderids.length > 0) {
    const priority = args.priority ?? 0;
    const waited = args.waited_for ? 1 : 0;
    const { insertId } = await insert(
      db,
      `INSERT INTO buildrequests (buildsetid, builderid, priority, complete, results, submitted_at, complete_at, waited_for)
       VALUES ${valuesList(builderids.length, '(?, ?, ?, 0, -1, ?, NULL, ?)')}`,
      builderids.flatMap((builderid) => [bsid, builderid, priority, submittedAt, waited]),
      t,
    );
    if (builderids.length === 1) {
      brids[builderids[0]!] = insertId;
    } else {
      // A multi-row insert's ids are not reliably consecutive on every server; ask.
      const rows = await select<{ id: number; builderid: number }>(db, 'SELECT id, builderid FROM buildrequests WHERE buildsetid = ?', [bsid], t);
      for (const r of rows) brids[r.builderid] = r.id;
    }
  }
  return { bsid, brids, ssids: uniqueSsids };
}

/**
 * Completes the buildset once none of its requests is incomplete, with the worst of their results
 * (starting from SUCCESS, so all-SKIPPED is SUCCESS; no requests: SUCCESS at once). Race: the
 * masters that complete its last requests may all get here; requests never become incomplete
 * again, so each one that reads "all complete" is right, and the `complete != 1` guard on the
 * UPDATE lets exactly one of them write it and report `completed`.
 */
export async function maybeCompleteBuildset(
  db: Database,
  bsid: number,
  now = epochSeconds(),
  t?: Transaction,
): Promise<{ completed: boolean; results?: number }> {
  const requests = await select<{ complete: number | null; results: number | null }>(
    db,
    'SELECT complete, results FROM buildrequests WHERE buildsetid = ?',
    [bsid],
    t,
  );
  if (requests.some((r) => r.complete !== 1)) return { completed: false };
  let results: number = SUCCESS;
  for (const r of requests) results = worstStatus(results, r.results) ?? results;
  const matched = await update(
    db,
    'UPDATE buildsets SET complete = 1, complete_at = ?, results = ? WHERE id = ? AND complete != 1',
    [now, results, bsid],
    t,
    false,
  );
  return matched === 1 ? { completed: true, results } : { completed: false };
}

const BUILDSET_COLUMNS = 'id, external_idstring, reason, submitted_at, complete, complete_at, results, parent_buildid, parent_relationship';

export function getBuildset(db: Database, bsid: number, t?: Transaction): Promise<BuildsetRow | undefined> {
  return selectOne<BuildsetRow>(db, `SELECT ${BUILDSET_COLUMNS} FROM buildsets WHERE id = ?`, [bsid], t);
}

/** name → [value, source], as addBuildset stored them. */
export async function getBuildsetProperties(db: Database, bsid: number, t?: Transaction): Promise<PropertyMap> {
  const rows = await select<{ property_name: string; property_value: string }>(
    db,
    'SELECT property_name, property_value FROM buildset_properties WHERE buildsetid = ?',
    [bsid],
    t,
  );
  const out: PropertyMap = {};
  for (const r of rows) {
    const parsed = JSON.parse(r.property_value) as [unknown, string];
    out[r.property_name] = [parsed[0], parsed[1]];
  }
  return out;
}

/** The buildset's sourcestamps (full rows, with their patches). */
export function getBuildsetSourcestamps(db: Database, bsid: number, t?: Transaction): Promise<SourcestampWithPatch[]> {
  return getSourcestampsOfBuildset(db, bsid, t);
}
