/** masters (Buildbot's data/masters.py): /masters[/{id}], and those of a builder. */
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { cond, selectPage, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest } from '../types.js';

export const MASTER = {
  name: 'master',
  plural: 'masters',
  fields: { masterid: F.int(), name: F.str(), active: F.bool(), last_active: F.date() },
};

const SOURCE: SqlSource = {
  from: 'masters',
  select: 'masters.id, masters.name, masters.active, masters.last_active',
  columns: { masterid: 'masters.id', name: 'masters.name', active: 'masters.active', last_active: 'masters.last_active' },
};

export interface MasterRow {
  id: number;
  name: string;
  active: number;
  last_active: number;
}

export function toMaster(r: MasterRow): Item {
  return { masterid: Number(r.id), name: r.name, active: Number(r.active) !== 0, last_active: Number(r.last_active) };
}

function where(r: ApiRequest) {
  return typeof r.args.builderid === 'number' ? [cond('masters.id IN (SELECT masterid FROM builder_masters WHERE builderid = ?)', r.args.builderid)] : [];
}

async function getMaster(r: ApiRequest): Promise<Item | undefined> {
  const { rows } = await selectPage<MasterRow>(r.db, SOURCE, r.spec, [cond('masters.id = ?', r.args.masterid), ...where(r)]);
  return rows[0] && toMaster(rows[0]);
}

async function listMasters(r: ApiRequest) {
  const page = await selectPage<MasterRow>(r.db, SOURCE, r.spec, where(r), 'masters.id');
  return { items: page.rows.map(toMaster), total: page.total };
}

export const mastersModule: ApiModule = {
  endpoints: [
    { type: MASTER, kind: 'item', paths: '/masters/n:masterid /builders/n:builderid/masters/n:masterid', get: getMaster },
    { type: MASTER, kind: 'collection', rootLink: 'masters', paths: '/masters /builders/n:builderid/masters', get: listMasters },
  ],
};
