/**
 * Adding a buildset as a scheduler does (Buildbot's data.updates.addBuildset): insert the buildset and
 * its requests in one transaction, collapse older equivalent requests into the new ones, then announce
 * the requests and the buildset. A buildset for no builder is complete at once.
 */
import { addBuildset, maybeCompleteBuildset } from '../db/buildsets.js';
import type { SourcestampSpec } from '../db/sourcestamps.js';
import { publishBuildset, publishRequest } from './messages.js';
import { collapseRequests, type CollapseContext } from './requestCollapser.js';

export interface SubmitBuildsetSpec {
  /** The scheduler's name, carried in the `buildsets new` message as Buildbot does. */
  scheduler: string;
  sourcestamps: (number | SourcestampSpec)[];
  reason: string;
  properties: Record<string, [unknown, string]>;
  builderids: number[];
  external_idstring?: string;
  waited_for?: boolean;
  parent_buildid?: number;
  parent_relationship?: string;
}

export async function submitBuildset(ctx: CollapseContext, spec: SubmitBuildsetSpec): Promise<{ bsid: number; brids: Record<number, number> }> {
  const { scheduler, ...buildset } = spec;
  const { bsid, brids } = await addBuildset(ctx.db, { ...buildset, submitted_at: ctx.now() });
  const newBrids = Object.values(brids);
  await collapseRequests(ctx, newBrids);
  for (const brid of newBrids) await publishRequest(ctx.db, ctx.bus, brid, 'new');
  await publishBuildset(ctx.db, ctx.bus, bsid, 'new', { scheduler });
  ctx.logger.info({ event: 'buildset.added', bsid, scheduler, brids: newBrids }, `added buildset ${bsid} (${newBrids.length} request(s)) from ${scheduler}`);
  if (newBrids.length === 0) {
    const { completed } = await maybeCompleteBuildset(ctx.db, bsid, ctx.now());
    if (completed) await publishBuildset(ctx.db, ctx.bus, bsid, 'complete');
  }
  return { bsid, brids };
}
