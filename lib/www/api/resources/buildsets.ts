/** buildsets (Buildbot's data/buildsets.py): /buildsets[/{id}], each with its sourcestamps. */
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { cond, selectByIds, selectPage, type Condition, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest } from '../types.js';
import { sourcestampItems } from './sourcestamps.js';

const BUILDSET = {
  name: 'buildset',
  plural: 'buildsets',
  fields: {
    bsid: F.int(),
    external_idstring: F.str(true),
    reason: F.str(),
    submitted_at: F.int(),
    complete: F.bool(),
    complete_at: F.int(true),
    results: F.int(true),
    sourcestamps: F.list('object'),
    parent_buildid: F.int(true),
    parent_relationship: F.str(true),
  },
};

const SOURCE: SqlSource = {
  from: 'buildsets',
  select: 'buildsets.id, buildsets.external_idstring, buildsets.reason, buildsets.submitted_at, buildsets.complete, buildsets.complete_at, buildsets.results, buildsets.parent_buildid, buildsets.parent_relationship',
  columns: {
    bsid: 'buildsets.id',
    external_idstring: 'buildsets.external_idstring',
    reason: 'buildsets.reason',
    submitted_at: 'buildsets.submitted_at',
    complete: '(buildsets.complete <> 0)',
    complete_at: 'buildsets.complete_at',
    results: 'buildsets.results',
    parent_buildid: 'buildsets.parent_buildid',
    parent_relationship: 'buildsets.parent_relationship',
  },
};

interface Row {
  id: number;
  external_idstring: string | null;
  reason: string | null;
  submitted_at: number;
  complete: number;
  complete_at: number | null;
  results: number | null;
  parent_buildid: number | null;
  parent_relationship: string | null;
}

const num = (v: number | null) => (v === null ? null : Number(v));

async function page(r: ApiRequest, where: Condition[] = []) {
  const p = await selectPage<Row>(r.db, SOURCE, r.spec, where);
  const ids = p.rows.map((x) => Number(x.id));
  const links = await selectByIds<{ buildsetid: number; sourcestampid: number }>(
    r.db,
    'SELECT buildsetid, sourcestampid FROM buildset_sourcestamps WHERE buildsetid IN (?) ORDER BY id',
    ids,
    'buildsetid',
  );
  const stamps = await sourcestampItems(r.db, [...links.values()].flat().map((l) => Number(l.sourcestampid)));
  const items: Item[] = p.rows.map((b) => ({
    bsid: Number(b.id),
    external_idstring: b.external_idstring,
    reason: b.reason,
    submitted_at: Number(b.submitted_at),
    complete: Number(b.complete) !== 0,
    complete_at: num(b.complete_at),
    results: num(b.results),
    sourcestamps: (links.get(Number(b.id)) ?? []).map((l) => stamps.get(Number(l.sourcestampid))),
    parent_buildid: num(b.parent_buildid),
    parent_relationship: b.parent_relationship,
  }));
  return { items, total: p.total };
}

export const buildsetsModule: ApiModule = {
  endpoints: [
    { type: BUILDSET, kind: 'item', paths: '/buildsets/n:bsid', get: async (r) => (await page(r, [cond('buildsets.id = ?', r.args.bsid)])).items[0] },
    { type: BUILDSET, kind: 'collection', rootLink: 'buildsets', paths: '/buildsets', get: (r) => page(r) },
  ],
};
