/**
 * collapseRequests (Buildbot's BuildRequestCollapser), run when a buildset is added: for each new
 * request, older pending requests of the same builder that may be collapsed into it are claimed by
 * this master and completed SKIPPED, so only the newest of a run of equivalent requests builds.
 * Claiming first makes this safe against a distributor (ours or another master's) taking the same
 * request at the same moment: whoever inserts the claim wins, and the loser moves on. The claim is
 * fenced like the distributor's: a master declared dead (active = 0) collapses nothing.
 */
import type { CollapseRequestsFn } from '../config/types.js';
import type { Database } from '../db/connection.js';
import {
  claimRequests,
  completeRequests,
  getPendingRequests,
  getRequest,
} from '../db/buildrequests.js';
import { maybeCompleteBuildset } from '../db/buildsets.js';
import type { MessageBus } from '../master/bus.js';
import type { Logger } from '../util/log.js';
import type { BuildsetCache } from './buildsetCache.js';
import { RequestHandleLoader, type BuilderHandle } from './handles.js';
import { publishBuildset, publishRequest, requestDict, type RequestDict } from './messages.js';
import { SKIPPED } from './results.js';

export interface CollapseContext {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  masterid: number;
  /** The `master` argument of a user collapseRequests function. */
  master: unknown;
  /**
   * The builder (handle for user functions) and its collapseRequests setting: its own, else the
   * global one. `true` is Buildbot's default canBeCollapsed, `false` no collapsing. Undefined: not ours.
   */
  collapseSettingFor(builderid: number): { builder: BuilderHandle; setting: boolean | CollapseRequestsFn } | undefined;
  now(): number;
  /** The master's cache of buildsets (optional: without it everything is read from the DB). */
  buildsets?: BuildsetCache;
  /** Claim only while this master's row is active (claimRequests' onlyWhileActive); default true. */
  fenceClaims?: boolean;
}

/** Buildbot's collapseRequests(master, builder, new_brdict, old_brdict): may the old request be dropped for the new one? */
export type CollapseFn = (master: unknown, builder: BuilderHandle, newRequest: RequestDict, oldRequest: RequestDict) => unknown;

function collapseFn(setting: boolean | CollapseRequestsFn, loader: RequestHandleLoader): CollapseFn | undefined {
  if (setting === false) return undefined;
  if (setting === true) return (_m, _b, newer, older) => canBeCollapsed(loader, newer, older);
  return setting as CollapseFn;
}

/**
 * Buildbot's default BuildRequest.canBeCollapsed(new, old): same buildset; or the new request is
 * newer and both buildsets have source stamps for the same codebases with equal repository, branch
 * and project, no patch, equal revisions, and equal scheduler-set properties (except `scheduler`).
 *
 * Changes are not linked to source stamps yet in this master, so "both have changes" never holds and
 * the revisions always decide (Buildbot's rule for stamps without changes).
 */
export async function canBeCollapsed(loader: RequestHandleLoader, newer: RequestDict, older: RequestDict): Promise<boolean> {
  if (newer.buildsetid === older.buildsetid) return true;
  if (newer.buildrequestid < older.buildrequestid) return false;
  const [a, b] = await Promise.all([loader.buildset(newer.buildsetid), loader.buildset(older.buildsetid)]);
  const codebases = Object.keys(a.sources).sort();
  if (codebases.join('\0') !== Object.keys(b.sources).sort().join('\0')) return false;
  for (const cb of codebases) {
    const x = a.sources[cb];
    const y = b.sources[cb];
    if (x.repository !== y.repository || x.branch !== y.branch || x.project !== y.project) return false;
    if (x.patchid !== null || y.patchid !== null) return false;
    if (x.revision !== y.revision) return false;
  }
  return sameJson(schedulerProps(a.properties), schedulerProps(b.properties));
}

function schedulerProps(props: Record<string, [unknown, string]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, [value, source]] of Object.entries(props)) {
    if (name !== 'scheduler' && source === 'Scheduler') out[name] = value;
  }
  return out;
}

function sameJson(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join('\0') !== kb.join('\0')) return false;
  return ka.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

/**
 * Collapses older pending requests into the new ones; returns the ids completed SKIPPED.
 * `builderOf` (brid → builderid), when given, spares reading requests whose builder never collapses.
 */
export async function collapseRequests(ctx: CollapseContext, newBrids: readonly number[], builderOf?: ReadonlyMap<number, number>): Promise<number[]> {
  const toCollapse = new Set<number>();
  const newSet = new Set(newBrids);
  const loader = new RequestHandleLoader(ctx.db, ctx.buildsets);
  for (const brid of newBrids) {
    const knownBuilder = builderOf?.get(brid);
    if (knownBuilder !== undefined) {
      const setting = ctx.collapseSettingFor(knownBuilder)?.setting;
      if (setting === undefined || setting === false) continue;
    }
    const br = await getRequest(ctx.db, brid);
    if (!br) continue;
    const found = ctx.collapseSettingFor(br.builderid);
    const fn = found && collapseFn(found.setting, loader);
    if (!found || !fn) continue;
    const collapse = { builder: found.builder, fn };
    const pending = await getPendingRequests(ctx.db, { builderid: br.builderid });
    for (const old of pending) {
      if (old.id === brid || newSet.has(old.id)) continue;
      try {
        if ((await collapse.fn(ctx.master, collapse.builder, requestDict(br), requestDict(old))) === true) toCollapse.add(old.id);
      } catch (err) {
        ctx.logger.error({ event: 'collapse.userFunctionFailed', builder: collapse.builder.name, err: (err as Error).message }, `collapseRequests of builder ${collapse.builder.name} threw: ${(err as Error).message}`);
      }
    }
  }

  const collapsed: number[] = [];
  for (const brid of toCollapse) {
    const { claimed } = await claimRequests(ctx.db, [brid], ctx.masterid, ctx.now(), undefined, { onlyWhileActive: ctx.fenceClaims ?? true });
    if (!claimed.includes(brid)) continue; // a distributor took it first (it builds), or we were declared dead
    const done = await completeRequests(ctx.db, [brid], SKIPPED, ctx.now(), ctx.masterid);
    if (!done.includes(brid)) continue;
    collapsed.push(brid);
    await publishRequest(ctx.db, ctx.bus, brid, 'claimed');
    await publishRequest(ctx.db, ctx.bus, brid, 'complete');
    const row = await getRequest(ctx.db, brid);
    if (row) {
      const { completed } = await maybeCompleteBuildset(ctx.db, row.buildsetid, ctx.now());
      if (completed) await publishBuildset(ctx.db, ctx.bus, row.buildsetid, 'complete');
    }
  }
  if (collapsed.length) ctx.logger.info({ event: 'collapse.collapsed', brids: collapsed }, `collapsed ${collapsed.length} older request(s) into new ones`);
  return collapsed;
}
