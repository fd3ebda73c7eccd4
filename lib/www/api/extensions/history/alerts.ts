/**
 * Our extension: duration regression alerts (lib/history/alerts.ts), newest first: /alerts,
 * filtered by builderid, step_name (empty: whole-build alerts), status, since.
 */
import { ALERT_STATUSES, listAlerts, type AlertStatus, type RegressionAlert } from '../../../../history/alerts.js';
import type { Item } from '../../applySpec.js';
import { F } from '../../fields.js';
import type { ApiModule } from '../../types.js';
import { choiceParam, intParam, strParam } from './params.js';

const ALERT = {
  name: 'alert',
  plural: 'alerts',
  fields: {
    alertid: F.int(),
    builderid: F.int(),
    step_name: F.str(true),
    buildid: F.int(),
    prev_buildid: F.int(true),
    t: F.obj(),
    old_mean: F.obj(),
    new_mean: F.obj(),
    percent: F.obj(),
    status: F.str(),
    created_at: F.date(),
  },
};

function toItem(a: RegressionAlert): Item {
  return {
    alertid: a.id,
    builderid: a.builderid,
    step_name: a.stepName,
    buildid: a.buildid,
    prev_buildid: a.prevBuildid,
    t: a.t,
    old_mean: a.oldMean,
    new_mean: a.newMean,
    percent: a.percent,
    status: a.status,
    created_at: a.createdAt,
  };
}

export const alertsModule: ApiModule = {
  endpoints: [
    {
      type: ALERT,
      kind: 'collection',
      paths: '/alerts /builders/n:builderid/alerts',
      params: ['builderid', 'step_name', 'status', 'since'],
      get: async (r) => {
        const builderid = typeof r.args.builderid === 'number' ? r.args.builderid : intParam(r.extra, 'builderid');
        const stepName = strParam(r.extra, 'step_name');
        const status = r.extra.status === undefined ? undefined : choiceParam<AlertStatus>(r.extra, 'status', ALERT_STATUSES, 'untriaged');
        const since = intParam(r.extra, 'since');
        const rows = await listAlerts(r.db, {
          limit: 1000,
          ...(builderid !== undefined ? { builderid } : {}),
          ...(stepName !== undefined ? { stepName: stepName === '' ? null : stepName } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(since !== undefined ? { since } : {}),
        });
        return { items: rows.map(toItem) };
      },
    },
  ],
};
