/** changesources (Buildbot's data/changesources.py): /changesources[/{id}], and a master's. */
import { serviceModule } from './serviceMasters.js';

export const changesourcesModule = serviceModule({
  name: 'changesource',
  plural: 'changesources',
  table: 'changesources',
  link: 'changesource_masters',
  linkId: 'changesourceid',
  enabled: false,
});
