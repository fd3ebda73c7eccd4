/**
 * builds (Buildbot's data/builds.py): /builds, under a builder (id or name), a build request, a
 * change or a worker. Filters and order on the builds columns go into SQL, so
 * `/builds?order=-buildid&limit=100` reads 100 rows of the primary key and
 * `/builders/N/builds?limit=50` the (builderid, number) index. `property=` adds the named
 * properties (`*`: all) to each build's `properties`, which is `{}` otherwise.
 */
import type { Database } from '../../../db/connection.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { builderIdOf, buildIdOf, withBuilderForms } from '../nesting.js';
import { cond, selectByIds, selectPage, stableCond, type Condition, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest, ResourceType } from '../types.js';

export const BUILD: ResourceType = {
  name: 'build',
  plural: 'builds',
  fields: {
    buildid: F.int(),
    number: F.int(),
    builderid: F.int(),
    buildrequestid: F.int(),
    workerid: F.int(),
    masterid: F.int(),
    started_at: F.date(),
    complete: F.bool(),
    complete_at: F.date(true),
    results: F.int(true),
    state_string: F.str(),
    properties: F.obj(true),
  },
};

const SOURCE: SqlSource = {
  from: 'builds',
  select: 'builds.id, builds.number, builds.builderid, builds.buildrequestid, builds.workerid, builds.masterid, builds.started_at, builds.complete_at, builds.state_string, builds.results',
  columns: {
    buildid: 'builds.id',
    number: 'builds.number',
    builderid: 'builds.builderid',
    buildrequestid: 'builds.buildrequestid',
    workerid: 'builds.workerid',
    masterid: 'builds.masterid',
    started_at: 'builds.started_at',
    complete_at: 'builds.complete_at',
    state_string: 'builds.state_string',
    results: 'builds.results',
    complete: '(builds.complete_at IS NOT NULL)',
  },
  counting: { table: 'builds', id: 'builds.id', stable: ['buildid', 'number', 'builderid', 'buildrequestid', 'workerid', 'masterid', 'started_at'] },
};

interface Row {
  id: number;
  number: number;
  builderid: number;
  buildrequestid: number;
  workerid: number | null;
  masterid: number;
  started_at: number;
  complete_at: number | null;
  state_string: string;
  results: number | null;
}

function toBuild(r: Row): Item {
  return {
    buildid: Number(r.id),
    number: Number(r.number),
    builderid: Number(r.builderid),
    buildrequestid: Number(r.buildrequestid),
    workerid: r.workerid === null ? null : Number(r.workerid),
    masterid: Number(r.masterid),
    started_at: Number(r.started_at),
    complete_at: r.complete_at === null ? null : Number(r.complete_at),
    complete: r.complete_at !== null,
    state_string: r.state_string,
    results: r.results === null ? null : Number(r.results),
    properties: {},
  };
}

/**
 * Fills `properties` of each build with those named in `wanted` ('*': all), as Buildbot's
 * _generate_filtered_properties: a build with none of them keeps `{}`.
 */
export async function addProperties(db: Database, items: Item[], wanted: readonly string[], sql: { query: string; key: string }): Promise<void> {
  if (wanted.length === 0 || items.length === 0) return;
  const all = wanted.includes('*');
  const ids = items.map((i) => Number(i[sql.key]));
  const rows = await selectByIds<{ id: number; name: string; value: string; source: string }>(db, sql.query, ids, 'id');
  for (const item of items) {
    const props: Record<string, [unknown, string]> = {};
    for (const r of rows.get(Number(item[sql.key])) ?? []) {
      if (all || wanted.includes(r.name)) props[r.name] = [JSON.parse(r.value) as unknown, r.source];
    }
    if (Object.keys(props).length > 0) item.properties = props;
  }
}

const BUILD_PROPERTIES = { query: 'SELECT buildid AS id, name, value, source FROM build_properties WHERE buildid IN (?)', key: 'buildid' };

async function getBuild(r: ApiRequest): Promise<Item | undefined> {
  const buildid = await buildIdOf(r.db, r.args);
  if (buildid === undefined) return undefined;
  const { rows } = await selectPage<Row>(r.db, SOURCE, r.spec, [cond('builds.id = ?', buildid)]);
  if (rows.length === 0) return undefined;
  const items = rows.map(toBuild);
  await addProperties(r.db, items, r.spec.properties, BUILD_PROPERTIES);
  return items[0];
}

async function listBuilds(r: ApiRequest) {
  const where: Condition[] = [];
  const { args, db, spec } = r;
  if ('builderid' in args || 'buildername' in args) {
    const builderid = await builderIdOf(db, args);
    if (builderid === undefined) return { items: [] };
    where.push(stableCond('builds.builderid = ?', builderid));
  }
  if (typeof args.buildrequestid === 'number') where.push(stableCond('builds.buildrequestid = ?', args.buildrequestid));
  if (typeof args.workerid === 'number') where.push(stableCond('builds.workerid = ?', args.workerid));
  if (typeof args.changeid === 'number') {
    // Buildbot's getBuildsForChange: builds of the buildsets that include the change's sourcestamp.
    where.push(
      cond(
        `builds.buildrequestid IN (SELECT br.id FROM buildrequests br
           JOIN buildset_sourcestamps bss ON bss.buildsetid = br.buildsetid
           JOIN changes ch ON ch.sourcestampid = bss.sourcestampid
         WHERE ch.changeid = ?)`,
        args.changeid,
      ),
    );
  }
  const page = await selectPage<Row>(db, SOURCE, spec, where);
  const items = page.rows.map(toBuild);
  await addProperties(db, items, spec.properties, BUILD_PROPERTIES);
  return { items, total: page.total };
}

export const buildsModule: ApiModule = {
  endpoints: [
    {
      type: BUILD,
      kind: 'item',
      paths: withBuilderForms('/builds/n:buildid', '/builders/BUILDER/builds/n:number'),
      get: getBuild,
    },
    {
      type: BUILD,
      kind: 'collection',
      rootLink: 'builds',
      paths: withBuilderForms('/builds', '/builders/BUILDER/builds', '/buildrequests/n:buildrequestid/builds', '/changes/n:changeid/builds', '/workers/n:workerid/builds'),
      get: listBuilds,
    },
  ],
};
