/**
 * Our extension: the pushlog (lib/db/pushes.ts) at `/api/v2/pushes[/{pushid}]`: each push with
 * its changes' ids (oldest first) and the builds made of them. Filters and order on the push
 * columns go into SQL; `/pushes?order=-pushid&limit=20` is the newest 20.
 */
import { getPush, type Push } from '../../../db/pushes.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { cond, selectPage, type Condition, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest } from '../types.js';

const PUSH = {
  name: 'push',
  plural: 'pushes',
  fields: {
    pushid: F.int(),
    repository: F.str(),
    branch: F.str(true),
    author: F.str(),
    pushed_at: F.date(),
    source: F.str(),
    changeids: F.list('integer'),
    builds: F.list('object'),
  },
};

const SOURCE: SqlSource = {
  from: 'pushes',
  select: 'pushes.id',
  columns: { pushid: 'pushes.id', repository: 'pushes.repository', branch: 'pushes.branch', author: 'pushes.author', pushed_at: 'pushes.pushed_at', source: 'pushes.source' },
};

function toPush(p: Push): Item {
  return {
    pushid: Number(p.push.id),
    repository: p.push.repository,
    branch: p.push.branch,
    author: p.push.author,
    pushed_at: Number(p.push.pushed_at),
    source: p.push.source,
    changeids: p.changes.map((c) => Number(c.changeid)),
    builds: p.builds.map((b) => ({
      buildid: b.buildid,
      builderid: b.builderid,
      number: b.number,
      changeid: b.changeid,
      started_at: b.started_at,
      complete: b.complete_at !== null,
      complete_at: b.complete_at,
      results: b.results,
      state_string: b.state_string,
    })),
  };
}

async function page(r: ApiRequest, where: Condition[] = []) {
  const p = await selectPage<{ id: number }>(r.db, SOURCE, r.spec, where);
  const pushes = await Promise.all(p.rows.map((x) => getPush(r.db, Number(x.id))));
  return { items: pushes.filter((x): x is Push => x !== undefined).map(toPush), total: p.total };
}

export const pushesModule: ApiModule = {
  endpoints: [
    { type: PUSH, kind: 'item', paths: '/pushes/n:pushid', get: async (r) => (await page(r, [cond('pushes.id = ?', r.args.pushid)])).items[0] },
    { type: PUSH, kind: 'collection', paths: '/pushes', get: (r) => page(r) },
  ],
};
