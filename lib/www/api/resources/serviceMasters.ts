/**
 * What schedulers and change sources share (Buildbot's data/schedulers.py, changesources.py): a
 * named service, the master running it (a whole master resource, or null), listed per master.
 */
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { cond, selectPage, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest, ResourceType } from '../types.js';
import { toMaster } from './masters.js';

interface ServiceSpec {
  name: string;
  plural: string;
  table: string;
  /** The table linking it to its master, and its id column there. */
  link: string;
  linkId: string;
  /** schedulers have `enabled`. */
  enabled: boolean;
}

interface Row {
  id: number;
  name: string;
  enabled?: number | null;
  masterid: number | null;
  m_name: string | null;
  m_active: number | null;
  m_last_active: number | null;
}

export function serviceModule(s: ServiceSpec): ApiModule {
  const idField = `${s.name}id`;
  const type: ResourceType = {
    name: s.name,
    plural: s.plural,
    fields: { [idField]: F.int(), name: F.str(), ...(s.enabled ? { enabled: F.bool() } : {}), master: F.obj(true) },
  };
  const source: SqlSource = {
    from: `${s.table} x LEFT JOIN ${s.link} l ON l.${s.linkId} = x.id LEFT JOIN masters m ON m.id = l.masterid`,
    select: `x.id, x.name${s.enabled ? ', x.enabled' : ''}, l.masterid, m.name AS m_name, m.active AS m_active, m.last_active AS m_last_active`,
    columns: { [idField]: 'x.id', name: 'x.name', ...(s.enabled ? { enabled: '(x.enabled <> 0)' } : {}) },
  };
  const toItem = (r: Row): Item => ({
    [idField]: Number(r.id),
    name: r.name,
    ...(s.enabled ? { enabled: Number(r.enabled ?? 1) !== 0 } : {}),
    master: r.masterid === null || r.m_name === null ? null : toMaster({ id: r.masterid, name: r.m_name, active: Number(r.m_active), last_active: Number(r.m_last_active) }),
  });
  const onMaster = (r: ApiRequest) => (typeof r.args.masterid === 'number' ? [cond('l.masterid = ?', r.args.masterid)] : []);
  return {
    endpoints: [
      {
        type,
        kind: 'item',
        paths: `/${s.plural}/n:${idField} /masters/n:masterid/${s.plural}/n:${idField}`,
        get: async (r) => {
          const { rows } = await selectPage<Row>(r.db, source, r.spec, [cond('x.id = ?', r.args[idField]), ...onMaster(r)]);
          return rows[0] && toItem(rows[0]);
        },
      },
      {
        type,
        kind: 'collection',
        rootLink: s.plural,
        paths: `/${s.plural} /masters/n:masterid/${s.plural}`,
        get: async (r) => {
          const page = await selectPage<Row>(r.db, source, r.spec, onMaster(r), 'x.id');
          return { items: page.rows.map(toItem), total: page.total };
        },
      },
    ],
  };
}
