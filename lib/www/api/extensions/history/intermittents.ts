/** Our extension: tests marked intermittent (lib/history/intermittents.ts), newest first: /intermittents, a builder's. */
import { getIntermittentTests } from '../../../../history/intermittents.js';
import { F } from '../../fields.js';
import type { ApiModule } from '../../types.js';
import { intParam, strParam } from './params.js';

const INTERMITTENT = {
  name: 'intermittent',
  plural: 'intermittents',
  fields: {
    test_name: F.str(),
    test_nameid: F.int(),
    builderid: F.int(),
    reason: F.str(),
    runs: F.int(),
    failures: F.int(),
    fail_rate: F.obj(),
    revision: F.str(true),
    first_marked_at: F.date(),
    updated_at: F.date(),
    last_buildid: F.int(true),
  },
};

export const intermittentsModule: ApiModule = {
  endpoints: [
    {
      type: INTERMITTENT,
      kind: 'collection',
      paths: '/intermittents /builders/n:builderid/intermittents',
      params: ['name'],
      get: async (r) => {
        const builderid = typeof r.args.builderid === 'number' ? r.args.builderid : intParam(r.extra, 'builderid');
        const name = strParam(r.extra, 'name');
        const rows = await getIntermittentTests(r.db, { limit: 1000, ...(builderid !== undefined ? { builderid } : {}), ...(name !== undefined ? { name } : {}) });
        return { items: rows.map((x) => ({ ...x })) };
      },
    },
  ],
};
