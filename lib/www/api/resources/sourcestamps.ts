/** sourcestamps (Buildbot's data/sourcestamps.py): /sourcestamps[/{id}], with the patch if any. */
import type { Database } from '../../../db/connection.js';
import { getSourcestamps, patchBody, type SourcestampWithPatch } from '../../../db/sourcestamps.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { cond, selectPage, type Condition, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest } from '../types.js';

export const SOURCESTAMP = {
  name: 'sourcestamp',
  plural: 'sourcestamps',
  fields: {
    ssid: F.int(),
    revision: F.str(true),
    branch: F.str(true),
    repository: F.str(),
    project: F.str(),
    codebase: F.str(),
    patch: F.obj(true),
    created_at: F.date(),
  },
};

const SOURCE: SqlSource = {
  from: 'sourcestamps ss',
  select: 'ss.id',
  columns: {
    ssid: 'ss.id',
    revision: 'ss.revision',
    branch: 'ss.branch',
    repository: 'ss.repository',
    project: 'ss.project',
    codebase: 'ss.codebase',
    created_at: 'ss.created_at',
  },
};

export function toSourcestamp(ss: SourcestampWithPatch): Item {
  return {
    ssid: Number(ss.id),
    branch: ss.branch,
    revision: ss.revision,
    project: ss.project,
    repository: ss.repository,
    codebase: ss.codebase,
    created_at: Number(ss.created_at),
    patch: ss.patch
      ? {
          patchid: Number(ss.patch.id),
          level: Number(ss.patch.patchlevel),
          subdir: ss.patch.subdir,
          author: ss.patch.patch_author,
          comment: ss.patch.patch_comment,
          body: patchBody(ss.patch).toString('utf8'),
        }
      : null,
  };
}

/** The sourcestamps with these ids, as API items, in the order of `ssids`. */
export async function sourcestampItems(db: Database, ssids: readonly number[]): Promise<Map<number, Item>> {
  const unique = [...new Set(ssids)];
  const out = new Map<number, Item>();
  for (let i = 0; i < unique.length; i += 500) {
    for (const ss of await getSourcestamps(db, unique.slice(i, i + 500))) out.set(Number(ss.id), toSourcestamp(ss));
  }
  return out;
}

async function page(r: ApiRequest, where: Condition[] = []) {
  const p = await selectPage<{ id: number }>(r.db, SOURCE, r.spec, where);
  const ids = p.rows.map((x) => Number(x.id));
  const byId = await sourcestampItems(r.db, ids);
  return { items: ids.map((id) => byId.get(id)).filter((x): x is Item => x !== undefined), total: p.total };
}

export const sourcestampsModule: ApiModule = {
  endpoints: [
    {
      type: SOURCESTAMP,
      kind: 'item',
      paths: '/sourcestamps/n:ssid',
      get: async (r) => (await page(r, [cond('ss.id = ?', r.args.ssid)])).items[0],
    },
    { type: SOURCESTAMP, kind: 'collection', rootLink: 'sourcestamps', paths: '/sourcestamps', get: (r) => page(r) },
  ],
};
