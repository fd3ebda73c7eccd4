/**
 * /buildrequests/{id} `cancel`, as Buildbot's BuildRequestEndpoint.control: claim the request; if
 * that works nobody runs it, so complete it CANCELLED (and its buildset, when that was the last);
 * if another master (or our distributor) holds it, stop its builds instead — those running here.
 */
import { claimRequests, completeRequests, getRequest, type BuildrequestWithClaim } from '../../db/buildrequests.js';
import { getBuildsForRequest } from '../../db/builds.js';
import { maybeCompleteBuildset } from '../../db/buildsets.js';
import { getBuilder } from '../../db/builders.js';
import { epochSeconds } from '../../db/query.js';
import { publishBuildset, publishRequest, requestDict } from '../../process/messages.js';
import { CANCELLED } from '../../process/results.js';
import { JSONRPC_CODES, JsonRpcError } from '../jsonRpcError.js';
import { runningBuildOf } from './lookup.js';
import { reasonOf, type ControlResource } from './types.js';

export const buildrequestsControl: ControlResource<BuildrequestWithClaim> = {
  resource: 'buildrequests',
  async target(master, path) {
    const br = /^\d+$/.test(path.buildrequestid ?? '') ? await getRequest(master.db, Number(path.buildrequestid)) : undefined;
    if (!br) throw new JsonRpcError(404, JSONRPC_CODES.invalidRequest, 'build request not found');
    const builder = await getBuilder(master.db, Number(br.builderid));
    return { target: br, ...(builder ? { builder: builder.name } : {}) };
  },
  methods: {
    async cancel({ master, params, who }, br) {
      const { db, bus, masterid } = master;
      const brid = Number(br.id);
      if (Number(br.complete) === 1) return null;
      const now = epochSeconds();
      // The claim is the lock: whoever inserts it decides what happens to the request.
      const { claimed } = await claimRequests(db, [brid], masterid, now);
      if (claimed.length === 1) {
        await completeRequests(db, [brid], CANCELLED, now, masterid);
        await publishRequest(db, bus, brid, 'complete');
        const row = await getRequest(db, brid);
        if (row) bus.publish(['buildrequests', String(brid), 'cancel'], requestDict(row));
        const bsid = Number(br.buildsetid);
        if ((await maybeCompleteBuildset(db, bsid, now)).completed) await publishBuildset(db, bus, bsid, 'complete');
        return null;
      }
      const reason = `${reasonOf(params)}${who.username ? ` (by ${who.username})` : ''}`;
      for (const b of await getBuildsForRequest(db, brid)) {
        if (b.complete_at === null) (await runningBuildOf(master, Number(b.id)))?.stop(reason);
      }
      return null;
    },
  },
};
