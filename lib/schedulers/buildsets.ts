/**
 * Buildsets from a scheduler's own transaction. A scheduler's decision (these changes are built,
 * this slot has fired, this trigger is consumed) and the buildset it makes must commit together,
 * or a crash between the two builds something twice or never; so the buildset is inserted inside
 * the scheduler's transaction and announced after the commit, exactly as submitBuildset does in
 * one go (collapse older requests, publish the requests and the buildset). A crash after the
 * commit loses only the announcement: distributors and Dependent schedulers also poll the DB.
 */
import type { DbTransaction as Transaction } from '../db/connection.js';
import { addBuildset, maybeCompleteBuildset, type PropertyMap } from '../db/buildsets.js';
import type { SourcestampSpec } from '../db/sourcestamps.js';
import { publishBuildset, publishRequest } from '../process/messages.js';
import { Properties } from '../process/properties.js';
import { render } from '../process/render.js';
import { collapseRequests, type CollapseContext } from '../process/requestCollapser.js';
import type { SchedulerDeps } from './types.js';

export interface SchedulerBuildsetSpec {
  sourcestamps: (number | SourcestampSpec)[];
  reason: string;
  properties: PropertyMap;
  /** Builder names (renderables allowed, rendered with the buildset's properties). */
  builderNames: readonly unknown[];
  external_idstring?: string;
  waited_for?: boolean;
  parent_buildid?: number | null;
  parent_relationship?: string | null;
}

export interface AddedSchedulerBuildset {
  bsid: number;
  brids: Record<number, number>;
  scheduler: string;
}

/** Buildbot renders builderNames with the buildset's properties, then keeps the known builders. */
export async function builderIdsFor(deps: SchedulerDeps, names: readonly unknown[], properties: PropertyMap): Promise<number[]> {
  const rendered = (await render([...names], { properties: Properties.fromDict(properties) })) as unknown[];
  const ids: number[] = [];
  for (const name of rendered.flat()) {
    const id = typeof name === 'string' ? deps.builderId(name) : undefined;
    if (id === undefined) deps.logger.warn({ event: 'scheduler.unknownBuilder', builder: String(name) }, `no builder named '${String(name)}': no request for it`);
    else ids.push(id);
  }
  return ids;
}

/** Inserts the buildset inside `t`; announce it with announceBuildset once `t` has committed. */
export async function addBuildsetIn(deps: SchedulerDeps, scheduler: string, spec: SchedulerBuildsetSpec, t: Transaction): Promise<AddedSchedulerBuildset> {
  const builderids = await builderIdsFor(deps, spec.builderNames, spec.properties);
  const { bsid, brids } = await addBuildset(
    deps.db,
    {
      sourcestamps: spec.sourcestamps,
      reason: spec.reason,
      properties: spec.properties,
      builderids,
      external_idstring: spec.external_idstring ?? null,
      waited_for: spec.waited_for ?? false,
      parent_buildid: spec.parent_buildid ?? null,
      parent_relationship: spec.parent_relationship ?? null,
      submitted_at: deps.buildsetContext.now(),
    },
    t,
  );
  return { bsid, brids, scheduler };
}

/** What submitBuildset does after its insert: collapse, publish, complete an empty buildset. */
export async function announceBuildset(ctx: CollapseContext, added: AddedSchedulerBuildset): Promise<void> {
  const { bsid, brids, scheduler } = added;
  const newBrids = Object.values(brids);
  const builderOf = new Map(Object.entries(brids).map(([builderid, brid]) => [brid, Number(builderid)]));
  await collapseRequests(ctx, newBrids, builderOf);
  for (const brid of newBrids) await publishRequest(ctx.db, ctx.bus, brid, 'new');
  await publishBuildset(ctx.db, ctx.bus, bsid, 'new', { scheduler });
  ctx.logger.info({ event: 'buildset.added', bsid, scheduler, brids: newBrids }, `added buildset ${bsid} (${newBrids.length} request(s)) from ${scheduler}`);
  if (newBrids.length === 0) {
    const { completed } = await maybeCompleteBuildset(ctx.db, bsid, ctx.now());
    if (completed) await publishBuildset(ctx.db, ctx.bus, bsid, 'complete');
  }
}
