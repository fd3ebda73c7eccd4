/**
 * Our extension: trends (lib/history/trends.ts), each filtered by builderid, workerid, branch
 * (empty: the default branch), since, until (epoch seconds):
 *   /trends/build_durations?per=day|build        daily {t, count, mean, min, max} or per build
 *   /trends/step_durations?step_name=S&per=…     the same for one step name
 *   /trends/failure_rates?by=day|builder|worker|branch   {key, builds, failed, rate}
 *   /steps/{id}/phases                           phases inside a step from its log's timestamps
 *                                                {name, line, start, end, duration_ms} (ms since epoch)
 */
import {
  buildDurationsByDay,
  buildDurationsPerBuild,
  failureRateByDay,
  failureRatesBy,
  stepDurationsByDay,
  stepDurationsPerBuild,
} from '../../../../history/trends.js';
import { readStepPhases } from '../../../../history/phases.js';
import { getStep } from '../../../../db/steps.js';
import { ApiError } from '../../apiError.js';
import { F } from '../../fields.js';
import type { ApiModule, ApiRequest, ListResult } from '../../types.js';
import { choiceParam, strParam, trendFilter, TREND_PARAMS } from './params.js';

const DURATION = {
  name: 'duration',
  plural: 'durations',
  fields: { t: F.date(), count: F.int(), mean: F.obj(), min: F.obj(), max: F.obj(), buildid: F.int(), workerid: F.int(true), duration: F.obj(), results: F.int(true) },
};
const PHASE = {
  name: 'phase',
  plural: 'phases',
  fields: { name: F.str(), line: F.int(), start: F.int(), end: F.int(), duration_ms: F.int() },
};
const RATE = { name: 'rate', plural: 'rates', fields: { key: F.str(true), builds: F.int(), failed: F.int(), rate: F.obj() } };

async function durations(r: ApiRequest, step: boolean): Promise<ListResult> {
  const f = trendFilter(r.extra);
  const per = choiceParam(r.extra, 'per', ['day', 'build'] as const, 'day');
  let rows: object[];
  if (step) {
    const stepName = strParam(r.extra, 'step_name');
    if (!stepName) throw new ApiError(400, 'step_durations needs step_name');
    rows = per === 'day' ? await stepDurationsByDay(r.db, { ...f, stepName }) : await stepDurationsPerBuild(r.db, { ...f, stepName });
  } else rows = per === 'day' ? await buildDurationsByDay(r.db, f) : await buildDurationsPerBuild(r.db, f);
  return { items: rows.map((x) => ({ ...x })) };
}

export const trendsModule: ApiModule = {
  endpoints: [
    { type: DURATION, kind: 'collection', paths: '/trends/build_durations', params: [...TREND_PARAMS, 'per'], get: (r) => durations(r, false) },
    { type: DURATION, kind: 'collection', paths: '/trends/step_durations', params: [...TREND_PARAMS, 'per', 'step_name'], get: (r) => durations(r, true) },
    {
      type: RATE,
      kind: 'collection',
      paths: '/trends/failure_rates',
      params: [...TREND_PARAMS, 'by'],
      get: async (r) => {
        const f = trendFilter(r.extra);
        const by = choiceParam(r.extra, 'by', ['day', 'builder', 'worker', 'branch'] as const, 'day');
        const rows = by === 'day' ? await failureRateByDay(r.db, f) : await failureRatesBy(r.db, { ...f, by });
        return { items: rows.map((x) => ({ ...x })) };
      },
    },
    {
      type: PHASE,
      kind: 'collection',
      paths: '/steps/n:stepid/phases',
      get: async (r) => {
        const stepid = r.args.stepid as number;
        if (!(await getStep(r.db, stepid))) return undefined;
        const phases = await readStepPhases(r.db, stepid);
        return { items: phases.map((p) => ({ name: p.name, line: p.line, start: p.start, end: p.end, duration_ms: p.durationMs })) };
      },
    },
  ],
};
