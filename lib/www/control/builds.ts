/**
 * /builds/{id} and /builders/{id|name}/builds/{n}: `stop` (reason) and `rebuild`, as Buildbot's
 * BuildEndpoint.actionStop / actionRebuild. A stop reaches builds running on this master; one
 * running on another master is refused with 409 (there is no channel between masters yet).
 */
import { getBuilder } from '../../db/builders.js';
import { getRequest } from '../../db/buildrequests.js';
import { getBuild, type BuildRow } from '../../db/builds.js';
import { getBuildset, getBuildsetProperties } from '../../db/buildsets.js';
import { getSourcestampsOfBuildset } from '../../db/sourcestamps.js';
import { findBuildByNumber, runningBuildOf } from './lookup.js';
import { JSONRPC_CODES, JsonRpcError } from '../jsonRpcError.js';
import { reasonOf, type ControlResource } from './types.js';

const notFound = () => new JsonRpcError(404, JSONRPC_CODES.invalidRequest, 'build not found');

export const buildsControl: ControlResource<BuildRow> = {
  resource: 'builds',
  async target(master, path) {
    const row = path.buildid !== undefined ? await getBuild(master.db, Number(path.buildid)) : await findBuildByNumber(master.db, path.builder!, Number(path.number));
    if (!row) throw notFound();
    const builder = await getBuilder(master.db, Number(row.builderid));
    return { target: row, ...(builder ? { builder: builder.name } : {}) };
  },
  methods: {
    async stop({ master, params, who }, row) {
      if (row.complete_at !== null) return null; // Buildbot: nothing to stop
      const build = await runningBuildOf(master, Number(row.id));
      if (!build) {
        const where = Number(row.masterid) === master.masterid ? 'is not running yet' : `runs on another master (masterid ${row.masterid}): send the stop there`;
        throw new JsonRpcError(409, JSONRPC_CODES.invalidRequest, `build ${row.id} ${where}`);
      }
      build.stop(`${reasonOf(params)}${who.username ? ` (by ${who.username})` : ''}`);
      return null;
    },

    /** A new buildset like the build's: same stamps and properties, its builder only (data/buildrequests.py). */
    async rebuild({ master }, row) {
      const br = await getRequest(master.db, Number(row.buildrequestid));
      if (!br) throw new JsonRpcError(404, JSONRPC_CODES.invalidRequest, 'the build has no build request');
      const bs = await getBuildset(master.db, Number(br.buildsetid));
      if (!bs) throw new JsonRpcError(404, JSONRPC_CODES.invalidRequest, 'the build has no buildset');
      const ssids = (await getSourcestampsOfBuildset(master.db, Number(bs.id))).map((ss) => Number(ss.id));
      const { bsid, brids } = await master.submitBuildset({
        scheduler: 'rebuild',
        sourcestamps: ssids,
        reason: 'rebuild',
        properties: await getBuildsetProperties(master.db, Number(bs.id)),
        builderids: [Number(br.builderid)],
        waited_for: false,
        ...(bs.external_idstring !== null ? { external_idstring: bs.external_idstring } : {}),
        ...(bs.parent_buildid !== null ? { parent_buildid: Number(bs.parent_buildid) } : {}),
        ...(bs.parent_relationship !== null ? { parent_relationship: bs.parent_relationship } : {}),
      });
      return [bsid, brids];
    },
  },
};
