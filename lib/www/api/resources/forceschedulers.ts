/**
 * forceschedulers (Buildbot's data/forceschedulers.py): the force forms of the configuration, all
 * or a builder's. The JSON-RPC `force` on /forceschedulers/{name} stays in routes/forceschedulers.ts.
 */
import type { ResolvedForceScheduler } from '../../../config/resolved.js';
import { getBuilder } from '../../../db/builders.js';
import { forceSchedulerData } from '../../routes/forceschedulers.js';
import { F, parsePathInt } from '../fields.js';
import type { ApiModule, ApiRequest } from '../types.js';

const FORCESCHEDULER = {
  name: 'forcescheduler',
  plural: 'forceschedulers',
  fields: { name: F.ident(50), button_name: F.str(), label: F.str(), builder_names: F.list('identifier'), enabled: F.bool(), all_fields: F.list('object') },
};

function forceSchedulers(r: ApiRequest): ResolvedForceScheduler[] {
  return r.www.master.config.schedulers.filter((s): s is ResolvedForceScheduler => s.kind === 'ForceScheduler');
}

async function list(r: ApiRequest) {
  let all = forceSchedulers(r);
  if (r.args.builderid !== undefined) {
    const id = typeof r.args.builderid === 'number' ? r.args.builderid : parsePathInt(r.args.builderid);
    const builder = id === undefined ? undefined : await getBuilder(r.db, id);
    all = builder ? all.filter((s) => s.builderNames.includes(builder.name)) : [];
  }
  return { items: all.map(forceSchedulerData) };
}

export const forceschedulersModule: ApiModule = {
  endpoints: [
    {
      type: FORCESCHEDULER,
      kind: 'item',
      paths: '/forceschedulers/i:schedulername',
      get: async (r) => {
        const s = forceSchedulers(r).find((x) => x.name === r.args.schedulername);
        return s && forceSchedulerData(s);
      },
    },
    { type: FORCESCHEDULER, kind: 'collection', rootLink: 'forceschedulers', paths: '/forceschedulers /builders/:builderid/forceschedulers', get: list },
  ],
};
