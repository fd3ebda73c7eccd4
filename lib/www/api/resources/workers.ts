/**
 * workers (Buildbot's data/workers.py): /workers[/{id|name}], under a master, a builder, or
 * both. Under a master or builder only workers configured there are listed, and `configured_on`
 * shows only those configurations (as Buildbot's getWorkers join does).
 */
import type { Database } from '../../../db/connection.js';
import { select } from '../../../db/query.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { cond, selectByIds, selectPage, type Condition, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest, PathArgs } from '../types.js';

const WORKER = {
  name: 'worker',
  plural: 'workers',
  fields: {
    workerid: F.int(),
    name: F.str(),
    connected_to: F.list('object'),
    configured_on: F.list('object'),
    workerinfo: F.obj(),
    paused: F.bool(),
    graceful: F.bool(),
  },
};

const SOURCE: SqlSource = {
  from: 'workers',
  select: 'workers.id, workers.name, workers.info, workers.paused, workers.graceful',
  columns: { workerid: 'workers.id', name: 'workers.name', paused: '(workers.paused <> 0)', graceful: '(workers.graceful <> 0)' },
};

interface Row {
  id: number;
  name: string;
  info: string;
  paused: number;
  graceful: number;
}

function info(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return {};
  }
}

function configScope(args: PathArgs): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (typeof args.masterid === 'number') {
    parts.push('bm.masterid = ?');
    params.push(args.masterid);
  }
  if (typeof args.builderid === 'number') {
    parts.push('bm.builderid = ?');
    params.push(args.builderid);
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
}

async function withDetails(db: Database, rows: Row[], args: PathArgs): Promise<Item[]> {
  const ids = rows.map((r) => Number(r.id));
  const connected = await selectByIds<{ workerid: number; masterid: number }>(db, 'SELECT workerid, masterid FROM connected_workers WHERE workerid IN (?) ORDER BY masterid', ids, 'workerid');
  const scope = configScope(args);
  const configured = new Map<number, { masterid: number; builderid: number }[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = await select<{ workerid: number; masterid: number; builderid: number }>(
      db,
      `SELECT cw.workerid, bm.masterid, bm.builderid FROM configured_workers cw JOIN builder_masters bm ON bm.id = cw.buildermasterid
       WHERE cw.workerid IN (?)${scope.sql} ORDER BY cw.id`,
      [ids.slice(i, i + 500), ...scope.params],
    );
    for (const c of part) {
      const list = configured.get(Number(c.workerid)) ?? [];
      list.push({ masterid: Number(c.masterid), builderid: Number(c.builderid) });
      configured.set(Number(c.workerid), list);
    }
  }
  return rows.map((r) => ({
    workerid: Number(r.id),
    name: r.name,
    workerinfo: info(r.info),
    paused: Number(r.paused) !== 0,
    graceful: Number(r.graceful) !== 0,
    connected_to: (connected.get(Number(r.id)) ?? []).map((c) => ({ masterid: Number(c.masterid) })),
    configured_on: configured.get(Number(r.id)) ?? [],
  }));
}

function scoped(args: PathArgs): Condition[] {
  if (typeof args.masterid !== 'number' && typeof args.builderid !== 'number') return [];
  const scope = configScope(args);
  return [
    {
      sql: `workers.id IN (SELECT cw.workerid FROM configured_workers cw JOIN builder_masters bm ON bm.id = cw.buildermasterid WHERE 1 = 1${scope.sql})`,
      params: scope.params,
    },
  ];
}

async function getWorker(r: ApiRequest): Promise<Item | undefined> {
  const which = typeof r.args.workerid === 'number' ? cond('workers.id = ?', r.args.workerid) : cond('workers.name = ?', r.args.name);
  const { rows } = await selectPage<Row>(r.db, SOURCE, r.spec, [which, ...scoped(r.args)]);
  return (await withDetails(r.db, rows, r.args))[0];
}

async function listWorkers(r: ApiRequest) {
  const page = await selectPage<Row>(r.db, SOURCE, r.spec, scoped(r.args), 'workers.id');
  return { items: await withDetails(r.db, page.rows, r.args), total: page.total };
}

const ITEM_BASES = ['/workers', '/masters/n:masterid/workers', '/masters/n:masterid/builders/n:builderid/workers', '/builders/n:builderid/workers'];

export const workersModule: ApiModule = {
  endpoints: [
    { type: WORKER, kind: 'item', paths: ITEM_BASES.flatMap((b) => [`${b}/n:workerid`, `${b}/i:name`]).join(' '), get: getWorker },
    { type: WORKER, kind: 'collection', rootLink: 'workers', paths: ITEM_BASES.join(' '), get: listWorkers },
  ],
};
