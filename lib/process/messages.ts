/**
 * Bus messages for buildsets and requests, shaped as the REST API shows the resource (Buildbot's
 * field names: buildrequestid, bsid, ssid, booleans for complete/claimed): read back from the DB
 * after the write, or — on the hot path, where the writer knows exactly what it stored — built from
 * the row it wrote (publishRequestRow, publishBuildsetFacts), which is the same message.
 */
import type { Database } from '../db/connection.js';
import { getRequest, type BuildrequestRow, type BuildrequestWithClaim } from '../db/buildrequests.js';
import { getBuildset, getBuildsetSourcestamps, type BuildsetRow } from '../db/buildsets.js';
import type { BuildRow } from '../db/builds.js';
import type { SourcestampWithPatch } from '../db/sourcestamps.js';
import type { MessageBus } from '../master/bus.js';
import type { BuildsetFacts } from './buildsetCache.js';

/** A build request as the data API shows it (Buildbot's brdict). */
export interface RequestDict {
  buildrequestid: number;
  buildsetid: number;
  builderid: number;
  priority: number;
  claimed: boolean;
  claimed_at: number | null;
  claimed_by_masterid: number | null;
  complete: boolean;
  complete_at: number | null;
  results: number;
  submitted_at: number;
  waited_for: boolean;
}

export function requestDict(row: BuildrequestRow | BuildrequestWithClaim): RequestDict {
  const claimedBy = 'claimed_by_masterid' in row ? row.claimed_by_masterid : null;
  return {
    buildrequestid: row.id,
    buildsetid: row.buildsetid,
    builderid: row.builderid,
    priority: row.priority,
    claimed: claimedBy !== null && claimedBy !== undefined,
    claimed_at: 'claimed_at' in row ? row.claimed_at : null,
    claimed_by_masterid: claimedBy ?? null,
    complete: Boolean(row.complete),
    complete_at: row.complete_at,
    results: row.results ?? -1,
    submitted_at: row.submitted_at,
    waited_for: Boolean(row.waited_for),
  };
}

export function sourcestampDict(ss: SourcestampWithPatch): Record<string, unknown> {
  const patch = ss.patch
    ? {
        patchid: ss.patch.id,
        level: ss.patch.patchlevel,
        subdir: ss.patch.subdir,
        author: ss.patch.patch_author,
        comment: ss.patch.patch_comment,
      }
    : null;
  return {
    ssid: ss.id,
    branch: ss.branch,
    revision: ss.revision,
    repository: ss.repository,
    project: ss.project,
    codebase: ss.codebase,
    created_at: ss.created_at,
    patch,
  };
}

export function buildsetDict(row: BuildsetRow, sourcestamps: SourcestampWithPatch[]): Record<string, unknown> {
  return {
    bsid: row.id,
    external_idstring: row.external_idstring,
    reason: row.reason,
    submitted_at: row.submitted_at,
    complete: Boolean(row.complete),
    complete_at: row.complete_at,
    results: row.results ?? -1,
    parent_buildid: row.parent_buildid,
    parent_relationship: row.parent_relationship,
    sourcestamps: sourcestamps.map(sourcestampDict),
  };
}

export async function publishBuildset(db: Database, bus: MessageBus, bsid: number, event: 'new' | 'complete', extra: Record<string, unknown> = {}): Promise<void> {
  const [row, sourcestamps] = await Promise.all([getBuildset(db, bsid), getBuildsetSourcestamps(db, bsid)]);
  bus.publish(['buildsets', String(bsid), event], { ...(row ? buildsetDict(row, sourcestamps) : { bsid }), ...extra });
}

/** publishBuildset from what the writer knows; `changes` are the columns it has just written. */
export function publishBuildsetFacts(
  bus: MessageBus,
  bsid: number,
  facts: BuildsetFacts,
  event: 'new' | 'complete',
  changes: Partial<Pick<BuildsetRow, 'complete' | 'complete_at' | 'results'>> = {},
  extra: Record<string, unknown> = {},
): void {
  const body = facts.row ? buildsetDict({ ...facts.row, ...changes }, facts.sourcestamps) : { bsid };
  bus.publish(['buildsets', String(bsid), event], { ...body, ...extra });
}

/** publishRequest from the row as the writer knows it was stored (with its claim, if any). */
export function publishRequestRow(bus: MessageBus, row: BuildrequestRow | BuildrequestWithClaim, event: 'new' | 'claimed' | 'unclaimed' | 'complete'): void {
  bus.publish(['buildrequests', String(row.id), event], requestDict(row));
}

export async function publishRequest(db: Database, bus: MessageBus, brid: number, event: 'new' | 'claimed' | 'unclaimed' | 'complete'): Promise<void> {
  const row = await getRequest(db, brid);
  bus.publish(['buildrequests', String(brid), event], row ? requestDict(row) : { buildrequestid: brid });
}

/** A build as the data API shows it (properties left empty, as without `?property=`). */
export function buildDict(row: BuildRow): Record<string, unknown> {
  return {
    buildid: row.id,
    number: row.number,
    builderid: row.builderid,
    buildrequestid: row.buildrequestid,
    workerid: row.workerid,
    masterid: row.masterid,
    started_at: row.started_at,
    complete: row.complete_at !== null,
    complete_at: row.complete_at,
    results: row.results,
    state_string: row.state_string,
    properties: {},
  };
}
