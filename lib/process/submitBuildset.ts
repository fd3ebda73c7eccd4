/**
 * Adding a buildset as a scheduler does (Buildbot's data.updates.addBuildset): insert the buildset and
 * its requests in one transaction, collapse older equivalent requests into the new ones, then announce
 * the requests and the buildset. A buildset for no builder is complete at once.
 */
import { addBuildset, maybeCompleteBuildset, type BuildsetRow } from '../db/buildsets.js';
import type { SourcestampSpec } from '../db/sourcestamps.js';
import { publishBuildset, publishBuildsetFacts, publishRequest, publishRequestRow } from './messages.js';
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
  const cache = ctx.buildsets;
  const submittedAt = ctx.now();
  let sourcestamps = buildset.sourcestamps;
  if (cache) {
    // Known stamps by id: the insert transaction then only inserts.
    sourcestamps = [];
    for (const ss of buildset.sourcestamps) sourcestamps.push(typeof ss === 'number' ? ss : await cache.sourcestampId(ss, submittedAt));
  }
  const { bsid, brids, ssids } = await addBuildset(ctx.db, { ...buildset, sourcestamps, submitted_at: submittedAt });
  const newBrids = Object.values(brids);
  const builderOf = new Map(Object.entries(brids).map(([builderid, brid]) => [brid, Number(builderid)]));
  await collapseRequests(ctx, newBrids, builderOf);
  if (cache) {
    // The rows as addBuildset wrote them.
    for (const [brid, builderid] of builderOf) {
      publishRequestRow(ctx.bus, {
        id: brid,
        buildsetid: bsid,
        builderid,
        priority: 0,
        complete: 0,
        results: -1,
        submitted_at: submittedAt,
        complete_at: null,
        waited_for: buildset.waited_for ? 1 : 0,
      }, 'new');
    }
    const row: BuildsetRow = {
      id: bsid,
      external_idstring: buildset.external_idstring ?? null,
      reason: buildset.reason ?? null,
      submitted_at: submittedAt,
      complete: 0,
      complete_at: null,
      results: -1,
      parent_buildid: buildset.parent_buildid ?? null,
      parent_relationship: buildset.parent_relationship ?? null,
    };
    publishBuildsetFacts(ctx.bus, bsid, await cache.remember(row, buildset.properties, ssids), 'new', {}, { scheduler });
  } else {
    for (const brid of newBrids) await publishRequest(ctx.db, ctx.bus, brid, 'new');
    await publishBuildset(ctx.db, ctx.bus, bsid, 'new', { scheduler });
  }
  ctx.logger.info({ event: 'buildset.added', bsid, scheduler, brids: newBrids }, `added buildset ${bsid} (${newBrids.length} request(s)) from ${scheduler}`);
  if (newBrids.length === 0) {
    const { completed } = await maybeCompleteBuildset(ctx.db, bsid, ctx.now());
    if (completed) {
      cache?.forget(bsid);
      await publishBuildset(ctx.db, ctx.bus, bsid, 'complete');
    }
  }
  return { bsid, brids };
}
