/**
 * Our extension: one test's runs across builds, workers and branches, newest first
 * (lib/history/testResults/store.ts getTestHistory). Buildbot's API has test results per set only.
 *   GET /api/v2/test_history?name=pkg.Class.testName[&builderid=N][&branch=B][&before=ID][&limit=N]
 * (of the newest 1000 runs; `before=test_resultid` pages further back)
 *   GET /api/v2/builders/N/test_history?name=…
 */
import { getTestHistory } from '../../../../history/testResults/store.js';
import { ApiError } from '../../apiError.js';
import { F } from '../../fields.js';
import type { ApiModule } from '../../types.js';
import { intParam, strParam } from './params.js';

const TEST_RUN = {
  name: 'test_run',
  plural: 'test_history',
  fields: {
    test_resultid: F.int(),
    test_result_setid: F.int(),
    test_name: F.str(),
    builderid: F.int(),
    buildid: F.int(),
    build_number: F.int(),
    stepid: F.int(),
    workerid: F.int(true),
    value: F.str(),
    passed: { kind: 'boolean' as const, nullable: true },
    category: F.str(),
    description: F.str(true),
    duration_ns: F.int(true),
    line: F.int(true),
    test_code_path: F.str(true),
    started_at: F.date(),
    complete_at: F.date(true),
    branch: F.str(true),
    revision: F.str(true),
  },
};

export const testHistoryModule: ApiModule = {
  endpoints: [
    {
      type: TEST_RUN,
      kind: 'collection',
      paths: '/test_history /builders/n:builderid/test_history',
      params: ['name', 'builderid', 'branch', 'before'],
      get: async (r) => {
        const name = strParam(r.extra, 'name');
        if (name === undefined || name === '') throw new ApiError(400, 'test_history needs name=<test name>');
        const builderid = typeof r.args.builderid === 'number' ? r.args.builderid : intParam(r.extra, 'builderid');
        const branch = strParam(r.extra, 'branch');
        const before = intParam(r.extra, 'before');
        const rows = await getTestHistory(r.db, {
          name,
          ...(builderid !== undefined ? { builderid } : {}),
          ...(branch !== undefined ? { branch } : {}),
          ...(before !== undefined ? { before } : {}),
          // The newest 1000; limit/offset/order then apply as on every collection.
          limit: 1000,
        });
        return { items: rows.map((x) => ({ ...x })) };
      },
    },
  ],
};
