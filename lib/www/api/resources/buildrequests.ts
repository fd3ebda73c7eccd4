/**
 * buildrequests (Buildbot's data/buildrequests.py): /buildrequests[/{id}] and a builder's. The
 * claim comes from buildrequest_claims; `property=` adds the buildset's properties (null without).
 */
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { cond, selectByIds, selectPage, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest } from '../types.js';

const BUILDREQUEST = {
  name: 'buildrequest',
  plural: 'buildrequests',
  fields: {
    buildrequestid: F.int(),
    buildsetid: F.int(),
    builderid: F.int(),
    priority: F.int(),
    claimed: F.bool(),
    claimed_at: F.date(true),
    claimed_by_masterid: F.int(true),
    complete: F.bool(),
    results: F.int(true),
    submitted_at: F.date(),
    complete_at: F.date(true),
    waited_for: F.bool(),
    properties: F.obj(true),
  },
};

const SOURCE: SqlSource = {
  from: 'buildrequests br LEFT JOIN buildrequest_claims c ON c.brid = br.id',
  select: 'br.id, br.buildsetid, br.builderid, br.priority, br.complete, br.results, br.submitted_at, br.complete_at, br.waited_for, c.claimed_at, c.masterid',
  columns: {
    buildrequestid: 'br.id',
    buildsetid: 'br.buildsetid',
    builderid: 'br.builderid',
    priority: 'br.priority',
    complete: '(br.complete <> 0)',
    results: 'br.results',
    submitted_at: 'br.submitted_at',
    complete_at: 'br.complete_at',
    waited_for: '(br.waited_for <> 0)',
    claimed_at: 'c.claimed_at',
    claimed_by_masterid: 'c.masterid',
    claimed: '(c.claimed_at IS NOT NULL)',
  },
  tiebreak: 'br.id',
};

interface Row {
  id: number;
  buildsetid: number;
  builderid: number;
  priority: number;
  complete: number | null;
  results: number | null;
  submitted_at: number;
  complete_at: number | null;
  waited_for: number | null;
  claimed_at: number | null;
  masterid: number | null;
}

const num = (v: number | null) => (v === null ? null : Number(v));

function toRequest(r: Row): Item {
  return {
    buildrequestid: Number(r.id),
    buildsetid: Number(r.buildsetid),
    builderid: Number(r.builderid),
    priority: Number(r.priority),
    claimed: r.claimed_at !== null,
    claimed_at: num(r.claimed_at),
    claimed_by_masterid: num(r.masterid),
    complete: Number(r.complete ?? 0) !== 0,
    results: num(r.results),
    submitted_at: Number(r.submitted_at),
    complete_at: num(r.complete_at),
    waited_for: Number(r.waited_for ?? 0) !== 0,
    properties: null,
  };
}

const BUILDSET_PROPERTIES = 'SELECT buildsetid AS id, property_name AS name, property_value AS value FROM buildset_properties WHERE buildsetid IN (?)';

/** buildset_properties.property_value is the JSON of [value, source]. */
async function addBuildsetProperties(r: ApiRequest, items: Item[]): Promise<void> {
  if (r.spec.properties.length === 0) return;
  const all = r.spec.properties.includes('*');
  const rows = await selectByIds<{ id: number; name: string; value: string }>(r.db, BUILDSET_PROPERTIES, items.map((i) => Number(i.buildsetid)), 'id');
  for (const item of items) {
    const props: Record<string, unknown> = {};
    for (const p of rows.get(Number(item.buildsetid)) ?? []) if (all || r.spec.properties.includes(p.name)) props[p.name] = JSON.parse(p.value) as unknown;
    if (Object.keys(props).length > 0) item.properties = props;
  }
}

async function getRequest(r: ApiRequest): Promise<Item | undefined> {
  const { rows } = await selectPage<Row>(r.db, SOURCE, r.spec, [cond('br.id = ?', r.args.buildrequestid)]);
  const items = rows.map(toRequest);
  await addBuildsetProperties(r, items);
  return items[0];
}

async function listRequests(r: ApiRequest) {
  const where = typeof r.args.builderid === 'number' ? [cond('br.builderid = ?', r.args.builderid)] : [];
  const page = await selectPage<Row>(r.db, SOURCE, r.spec, where);
  const items = page.rows.map(toRequest);
  await addBuildsetProperties(r, items);
  return { items, total: page.total };
}

export const buildrequestsModule: ApiModule = {
  endpoints: [
    { type: BUILDREQUEST, kind: 'item', paths: '/buildrequests/n:buildrequestid', get: getRequest },
    { type: BUILDREQUEST, kind: 'collection', rootLink: 'buildrequests', paths: '/buildrequests /builders/n:builderid/buildrequests', get: listRequests },
  ],
};
