/**
 * properties (Buildbot's data/properties.py): a build's or buildset's properties as one object
 * `{name: [value, source]}` (`/builds/{id}/properties`, `/buildsets/{id}/properties`), and the
 * `property_list` forms, one `{name, source, value}` per property with the value as JSON text.
 */
import { getBuildProperties } from '../../../db/builds.js';
import { getBuildsetProperties, type PropertyMap } from '../../../db/buildsets.js';
import { getChange } from '../../../db/changes.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { buildIdOf } from '../nesting.js';
import type { ApiModule, ApiRequest } from '../types.js';

const PROPERTIES = { name: 'property', plural: 'properties', fields: {} };
const PROPERTY_LIST = { name: '_property', plural: '_properties', fields: { name: F.str(), source: F.str(), value: F.str() } };

async function propertiesOf(r: ApiRequest): Promise<PropertyMap | undefined> {
  if (typeof r.args.bsid === 'number') return getBuildsetProperties(r.db, r.args.bsid);
  if (typeof r.args.changeid === 'number') return (await getChange(r.db, r.args.changeid))?.properties;
  const buildid = await buildIdOf(r.db, r.args);
  return buildid === undefined ? undefined : getBuildProperties(r.db, buildid);
}

export const propertiesModule: ApiModule = {
  endpoints: [
    {
      type: PROPERTIES,
      kind: 'item',
      paths: '/buildsets/n:bsid/properties /builders/n:builderid/builds/n:build_number/properties /builds/n:buildid/properties',
      get: async (r) => (await propertiesOf(r)) as Item | undefined,
    },
    {
      type: PROPERTY_LIST,
      kind: 'collection',
      paths: '/builds/n:buildid/property_list /buildsets/n:bsid/properties_list /changes/n:changeid/properties_list',
      get: async (r) => {
        const props = (await propertiesOf(r)) ?? {};
        return { items: Object.entries(props).map(([name, [value, source]]) => ({ name, source, value: JSON.stringify(value) })) };
      },
    },
  ],
};
