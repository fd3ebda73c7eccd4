/** build_data (Buildbot's data/build_data.py): a build's named data, without and with its value. */
import { select, selectOne } from '../../../db/query.js';
import { F } from '../fields.js';
import { buildIdOf, withBuilderForms } from '../nesting.js';
import type { ApiModule, ApiRequest } from '../types.js';

const BUILD_DATA = {
  name: 'build_data',
  plural: 'build_data',
  fields: { buildid: F.int(), name: F.str(), length: F.int(), value: F.binary(true), source: F.str() },
};

type Row = { buildid: number; name: string; length: number; source: string };

const toItem = (r: Row) => ({ buildid: Number(r.buildid), name: r.name, length: Number(r.length), value: null, source: r.source });

async function one(r: ApiRequest, withValue: boolean) {
  const buildid = await buildIdOf(r.db, r.args);
  if (buildid === undefined) return undefined;
  return selectOne<Row & { value?: Buffer }>(
    r.db,
    `SELECT buildid, name, length, source${withValue ? ', value' : ''} FROM build_data WHERE buildid = ? AND name = ?`,
    [buildid, r.args.name],
  );
}

export const buildDataModule: ApiModule = {
  endpoints: [
    {
      type: BUILD_DATA,
      kind: 'collection',
      paths: withBuilderForms('/builders/BUILDER/builds/n:build_number/data', '/builds/n:buildid/data'),
      get: async (r) => {
        const buildid = await buildIdOf(r.db, r.args);
        if (buildid === undefined) return { items: [] };
        return { items: (await select<Row>(r.db, 'SELECT buildid, name, length, source FROM build_data WHERE buildid = ? ORDER BY id', [buildid])).map(toItem) };
      },
    },
    {
      type: BUILD_DATA,
      kind: 'item',
      paths: withBuilderForms('/builders/BUILDER/builds/n:build_number/data/i:name', '/builds/n:buildid/data/i:name'),
      get: async (r) => {
        const row = await one(r, false);
        return row && toItem(row);
      },
    },
    {
      type: BUILD_DATA,
      kind: 'raw',
      paths: withBuilderForms('/builders/BUILDER/builds/n:build_number/data/i:name/value', '/builds/n:buildid/data/i:name/value'),
      get: async (r) => {
        const row = await one(r, true);
        return row && { raw: Buffer.from(row.value ?? Buffer.alloc(0)), mimeType: 'application/octet-stream', filename: row.name };
      },
    },
  ],
};
