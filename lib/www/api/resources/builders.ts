/** builders (Buildbot's data/builders.py): /builders[/{id|name}], and under a master. */
import type { Database } from '../../../db/connection.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { builderIdOf } from '../nesting.js';
import { cond, selectByIds, selectPage, type Condition, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest } from '../types.js';

const BUILDER = {
  name: 'builder',
  plural: 'builders',
  fields: { builderid: F.int(), name: F.ident(70), masterids: F.list('integer'), description: F.str(true), tags: F.list('string') },
};

const SOURCE: SqlSource = {
  from: 'builders',
  select: 'builders.id, builders.name, builders.description',
  columns: { builderid: 'builders.id', name: 'builders.name', description: 'builders.description' },
};

interface Row {
  id: number;
  name: string;
  description: string | null;
}

async function withDetails(db: Database, rows: Row[]): Promise<Item[]> {
  const ids = rows.map((r) => Number(r.id));
  const masters = await selectByIds<{ builderid: number; masterid: number }>(db, 'SELECT builderid, masterid FROM builder_masters WHERE builderid IN (?) ORDER BY masterid', ids, 'builderid');
  const tags = await selectByIds<{ builderid: number; name: string }>(
    db,
    'SELECT bt.builderid, t.name FROM builders_tags bt JOIN tags t ON t.id = bt.tagid WHERE bt.builderid IN (?) ORDER BY t.id',
    ids,
    'builderid',
  );
  return rows.map((r) => ({
    builderid: Number(r.id),
    name: r.name,
    masterids: (masters.get(Number(r.id)) ?? []).map((m) => Number(m.masterid)),
    description: r.description,
    tags: (tags.get(Number(r.id)) ?? []).map((t) => t.name),
  }));
}

function onMaster(masterid: number): Condition {
  return cond('builders.id IN (SELECT builderid FROM builder_masters WHERE masterid = ?)', masterid);
}

async function getBuilder(r: ApiRequest): Promise<Item | undefined> {
  const builderid = await builderIdOf(r.db, r.args);
  if (builderid === undefined) return undefined;
  const where = [cond('builders.id = ?', builderid)];
  if (typeof r.args.masterid === 'number') where.push(onMaster(r.args.masterid));
  const { rows } = await selectPage<Row>(r.db, SOURCE, r.spec, where);
  return (await withDetails(r.db, rows))[0];
}

async function listBuilders(r: ApiRequest) {
  const where = typeof r.args.masterid === 'number' ? [onMaster(r.args.masterid)] : [];
  const page = await selectPage<Row>(r.db, SOURCE, r.spec, where, 'builders.id');
  return { items: await withDetails(r.db, page.rows), total: page.total };
}

export const buildersModule: ApiModule = {
  endpoints: [
    { type: BUILDER, kind: 'item', paths: '/builders/n:builderid /builders/i:buildername /masters/n:masterid/builders/n:builderid', get: getBuilder },
    { type: BUILDER, kind: 'collection', rootLink: 'builders', paths: '/builders /masters/n:masterid/builders', get: listBuilders },
  ],
};
