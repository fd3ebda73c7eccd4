import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import type { DialectName } from './dialects.js';
import type { BuildrequestRow } from './model/index.js';
import { batches, distinct, insertIgnoringDuplicates, remove, select, selectOne, update } from './query.js';

export type { BuildrequestRow } from './model/index.js';

/** A request with its claim, if any (the REST API's `claimed`, `claimed_by_masterid`, `claimed_at`). */
export interface BuildrequestWithClaim extends BuildrequestRow {
  claimed_by_masterid: number | null;
  claimed_at: number | null;
}

const BR_COLUMNS = 'br.id, br.buildsetid, br.builderid, br.priority, br.complete, br.results, br.submitted_at, br.complete_at, br.waited_for';

/**
 * "Pending" = incomplete and unclaimed. `complete = 0` walks an index: buildrequests_complete, or for
 * one builder buildrequests_pending_order (builderid, complete, priority DESC, submitted_at), in the
 * order requests are taken, so a LIMIT stops early (migration 008) — and each such row probes
 * buildrequest_claims' unique index on brid, so finished history — requests and their claims,
 * which are kept after completion as in Buildbot — is never scanned however long it grows, and a
 * builder's next requests cost the same with 10 or 25,000 pending. Written as an anti-join
 * (LEFT JOIN … IS NULL) rather than NOT EXISTS: MariaDB turns NOT EXISTS into a materialized
 * subquery that reads every claim ever made.
 */
const PENDING_FROM = 'buildrequests br LEFT JOIN buildrequest_claims c ON c.brid = br.id';
const PENDING = 'br.complete = 0 AND c.brid IS NULL';

/**
 * `buildrequests br`, told to use index `name` (migration 008). Without the hint the planners may
 * prefer buildrequests_complete (few rows, they estimate) and sort every pending request of every
 * builder — the cost that grows with the queue. `dialect` undefined: no hint.
 */
function requestsUsing(name: string, dialect: DialectName | undefined): string {
  if (dialect === 'sqlite') return `buildrequests br INDEXED BY ${name}`;
  if (dialect === 'mysql') return `buildrequests br FORCE INDEX (${name})`;
  return 'buildrequests br';
}

/** The statement behind getPendingRequests (exported so a test can check its query plan). */
export function pendingRequestsQuery(opts: { builderid?: number; limit?: number } = {}, dialect?: DialectName): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  let where = PENDING;
  let from = PENDING_FROM;
  if (opts.builderid !== undefined) {
    from = `${requestsUsing('buildrequests_pending_order', dialect)} LEFT JOIN buildrequest_claims c ON c.brid = br.id`;
    where += ' AND br.builderid = ?';
    params.push(opts.builderid);
  }
  let limit = '';
  if (opts.limit !== undefined) {
    limit = ' LIMIT ?';
    params.push(Math.max(0, Math.floor(opts.limit)));
  }
  const sql = `SELECT ${BR_COLUMNS} FROM ${from} WHERE ${where} ORDER BY br.priority DESC, br.submitted_at ASC, br.id ASC${limit}`;
  return { sql, params };
}

/** Unclaimed, incomplete requests, highest priority first, then oldest first. */
export function getPendingRequests(
  db: Database,
  opts: { builderid?: number; limit?: number } = {},
  t?: Transaction,
): Promise<BuildrequestRow[]> {
  const { sql, params } = pendingRequestsQuery(opts, db.dialect);
  return select<BuildrequestRow>(db, sql, params, t);
}

/** The builders that have at least one pending request. */
export async function pendingBuilderIds(db: Database, t?: Transaction): Promise<number[]> {
  return [...(await pendingOldestByBuilder(db, t)).keys()];
}

/**
 * The statement behind pendingOldestByBuilder (exported so a test can check its query plan): per
 * builders row, a walk of the buildrequests_pending_age index (builderid, complete, submitted_at)
 * that stops at the first unclaimed row. It reads the builders, plus the claimed-but-unfinished
 * requests (running builds) it steps over; never the whole pending queue, which a GROUP BY over
 * `complete = 0` would (Buildbot issue 3395: 25,000 pending requests).
 */
export function pendingOldestQuery(dialect?: DialectName): string {
  return `SELECT b.id AS builderid,
  (SELECT br.submitted_at FROM ${requestsUsing('buildrequests_pending_age', dialect)} LEFT JOIN buildrequest_claims c ON c.brid = br.id
    WHERE br.builderid = b.id AND ${PENDING} ORDER BY br.submitted_at LIMIT 1) AS oldest
  FROM builders b ORDER BY b.id`;
}

/**
 * builderid → submitted_at of its oldest pending request, for the builders that have one (Buildbot's
 * getOldestRequestTime for all builders in one statement).
 */
export async function pendingOldestByBuilder(db: Database, t?: Transaction): Promise<Map<number, number>> {
  const rows = await select<{ builderid: number; oldest: number | null }>(db, pendingOldestQuery(db.dialect), [], t);
  return new Map(rows.filter((r) => r.oldest !== null).map((r) => [Number(r.builderid), Number(r.oldest)]));
}

export interface ClaimOutcome {
  /** The requests this call claimed for the master. */
  claimed: number[];
  /**
   * The requests it did not get: another master (or this one, earlier) holds them, they are complete
   * or missing, or (onlyWhileActive) this master is no longer active.
   */
  conflicts: number[];
}

export interface ClaimOptions {
  /**
   * Claim only while the masters row of `masterid` says active (a running master's distributor).
   * A master that others declared dead (active = 0) then claims nothing, even before its own next
   * heartbeat tells it so. Off by default: a master that never went active (tests, tools) can claim.
   */
  onlyWhileActive?: boolean;
}

/**
 * Claims each request for `masterid`, one row at a time, so the master gets every request it won
 * even when it lost others (no all-or-nothing rollback of the batch, unlike Buildbot's).
 *
 * Race: the unique index on buildrequest_claims.brid is the only arbiter between masters. Each
 * INSERT that skips duplicates either adds our row (1 row affected: we won that request) or finds
 * one already there (0: someone holds it — a value, never an error). No read precedes the write,
 * so there is no check-then-act window on either dialect. Requests go in ascending id order, so two
 * masters inserting overlapping batches take the index's locks in the same order (no deadlock
 * cycle on MySQL); a duplicate brid in the batch is removed first, and would only lose to itself.
 * Several requests share one transaction only to share its commit; each row's outcome is decided
 * alone. The SELECT adds nothing for a missing or completed request (sqlite does not enforce the
 * foreign key, and an unclaimed finished request must not run again).
 *
 * With onlyWhileActive the same SELECT also reads the master's row. Against expiry
 * (markMasterInactive, then releaseMasterClaims): on sqlite the two write transactions cannot
 * interleave; on MySQL (REPEATABLE READ, the default) INSERT … SELECT takes a shared lock on the
 * rows it reads, the masters row included (checked: the expirer's UPDATE waits for it). So either
 * the claim commits first — and the expirer's later DELETE, a locking read, sees and releases it —
 * or the expiry does, and the claim (a current read) finds active = 0 and adds nothing.
 */
export async function claimRequests(
  db: Database,
  brids: readonly number[],
  masterid: number,
  now: number,
  t?: Transaction,
  opts: ClaimOptions = {},
): Promise<ClaimOutcome> {
  const ids = distinct(brids).sort((a, b) => a - b);
  if (ids.length > 1 && !t) return db.transaction((tx) => claimRequests(db, ids, masterid, now, tx, opts), { driverOnly: true });
  const outcome: ClaimOutcome = { claimed: [], conflicts: [] };
  const fence = opts.onlyWhileActive ? ' AND EXISTS (SELECT 1 FROM masters m WHERE m.id = ? AND m.active = 1)' : '';
  for (const brid of ids) {
    const { affectedRows } = await insertIgnoringDuplicates(
      db,
      `buildrequest_claims (brid, masterid, claimed_at) SELECT id, ?, ? FROM buildrequests WHERE id = ? AND complete = 0${fence}`,
      opts.onlyWhileActive ? [masterid, now, brid, masterid] : [masterid, now, brid],
      t,
    );
    (affectedRows === 1 ? outcome.claimed : outcome.conflicts).push(brid);
  }
  return outcome;
}

/**
 * Releases this master's claims on these requests so any master can run them again (after a
 * RETRY, or when a claimed request cannot start after all). Claims of other masters are left
 * alone. Returns how many claims were released.
 */
export async function unclaimRequests(db: Database, brids: readonly number[], masterid: number, t?: Transaction): Promise<number> {
  let released = 0;
  for (const batch of batches(db, distinct(brids))) {
    released += await remove(db, 'DELETE FROM buildrequest_claims WHERE brid IN (?) AND masterid = ?', [batch, masterid], t);
  }
  return released;
}

/**
 * Releases every claim `masterid` holds on an incomplete request (housekeeping of a stopped or
 * expired master). Unlike Buildbot's, this works for any master, not only the caller itself.
 * Returns the released request ids.
 */
export async function releaseMasterClaims(db: Database, masterid: number, t?: Transaction): Promise<number[]> {
  const rows = await select<{ brid: number }>(
    db,
    `SELECT c.brid FROM buildrequest_claims c JOIN buildrequests br ON br.id = c.brid
     WHERE c.masterid = ? AND br.complete = 0 ORDER BY c.brid`,
    [masterid],
    t,
  );
  const brids = rows.map((r) => r.brid);
  if (brids.length > 0) await unclaimRequests(db, brids, masterid, t);
  return brids;
}

/**
 * Marks requests complete with `results`, but only those `masterid` holds the claim of and that
 * are not complete yet; returns the ids it completed. Race: the UPDATE's own WHERE checks both
 * conditions in the statement that writes (a row lock on MySQL, the write lock on sqlite), so a
 * master that lost its claim — expired and unclaimed, perhaps re-claimed by another — completes
 * nothing, and a request is completed once. Per row, so each outcome is exact.
 */
export async function completeRequests(
  db: Database,
  brids: readonly number[],
  results: number,
  now: number,
  masterid: number,
  t?: Transaction,
): Promise<number[]> {
  const ids = distinct(brids).sort((a, b) => a - b);
  if (ids.length > 1 && !t) return db.transaction((tx) => completeRequests(db, ids, results, now, masterid, tx), { driverOnly: true });
  const completed: number[] = [];
  for (const brid of ids) {
    const matched = await update(
      db,
      `UPDATE buildrequests SET complete = 1, results = ?, complete_at = ?
       WHERE id = ? AND complete = 0
         AND EXISTS (SELECT 1 FROM buildrequest_claims c WHERE c.brid = ? AND c.masterid = ?)`,
      [results, now, brid, brid, masterid],
      t,
      false,
    );
    if (matched === 1) completed.push(brid);
  }
  return completed;
}

export function getRequest(db: Database, brid: number, t?: Transaction): Promise<BuildrequestWithClaim | undefined> {
  return selectOne<BuildrequestWithClaim>(
    db,
    `SELECT ${BR_COLUMNS}, c.masterid AS claimed_by_masterid, c.claimed_at
     FROM buildrequests br LEFT JOIN buildrequest_claims c ON c.brid = br.id WHERE br.id = ?`,
    [brid],
    t,
  );
}

/** Several requests with their claims, in id order (missing ids are left out). */
export async function getRequests(db: Database, brids: readonly number[], t?: Transaction): Promise<BuildrequestWithClaim[]> {
  const out: BuildrequestWithClaim[] = [];
  for (const batch of batches(db, distinct(brids))) {
    out.push(...(await select<BuildrequestWithClaim>(
      db,
      `SELECT ${BR_COLUMNS}, c.masterid AS claimed_by_masterid, c.claimed_at
       FROM buildrequests br LEFT JOIN buildrequest_claims c ON c.brid = br.id WHERE br.id IN (?)`,
      [batch],
      t,
    )));
  }
  return out.sort((a, b) => a.id - b.id);
}

/** The requests of a buildset, with their claims. */
export function getRequestsOfBuildset(db: Database, bsid: number, t?: Transaction): Promise<BuildrequestWithClaim[]> {
  return select<BuildrequestWithClaim>(
    db,
    `SELECT ${BR_COLUMNS}, c.masterid AS claimed_by_masterid, c.claimed_at
     FROM buildrequests br LEFT JOIN buildrequest_claims c ON c.brid = br.id WHERE br.buildsetid = ? ORDER BY br.id`,
    [bsid],
    t,
  );
}
