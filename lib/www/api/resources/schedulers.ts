/** schedulers (Buildbot's data/schedulers.py): /schedulers[/{id}], and a master's. */
import { serviceModule } from './serviceMasters.js';

export const schedulersModule = serviceModule({
  name: 'scheduler',
  plural: 'schedulers',
  table: 'schedulers',
  link: 'scheduler_masters',
  linkId: 'schedulerid',
  enabled: true,
});
