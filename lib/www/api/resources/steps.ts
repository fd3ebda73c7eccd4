/** steps (Buildbot's data/steps.py): /steps/{id}, a build's steps, by number or by name. */
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { buildIdOf, stepIdOf, withBuilderForms } from '../nesting.js';
import { cond, selectPage, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest, ListResult } from '../types.js';

const STEP = {
  name: 'step',
  plural: 'steps',
  fields: {
    stepid: F.int(),
    number: F.int(),
    name: F.ident(50),
    buildid: F.int(),
    started_at: F.date(true),
    complete: F.bool(),
    complete_at: F.date(true),
    results: F.int(true),
    state_string: F.str(),
    urls: F.list('object'),
    hidden: F.bool(),
  },
};

const SOURCE: SqlSource = {
  from: 'steps',
  select: 'steps.id, steps.number, steps.name, steps.buildid, steps.started_at, steps.complete_at, steps.state_string, steps.results, steps.urls_json, steps.hidden',
  columns: {
    stepid: 'steps.id',
    number: 'steps.number',
    name: 'steps.name',
    buildid: 'steps.buildid',
    started_at: 'steps.started_at',
    complete: '(steps.complete_at IS NOT NULL)',
    complete_at: 'steps.complete_at',
    results: 'steps.results',
    state_string: 'steps.state_string',
    hidden: '(steps.hidden <> 0)',
  },
};

interface Row {
  id: number;
  number: number;
  name: string;
  buildid: number;
  started_at: number | null;
  complete_at: number | null;
  state_string: string;
  results: number | null;
  urls_json: string;
  hidden: number;
}

const num = (v: number | null) => (v === null ? null : Number(v));

function urls(json: string): unknown[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

function toStep(r: Row): Item {
  return {
    stepid: Number(r.id),
    number: Number(r.number),
    name: r.name,
    buildid: Number(r.buildid),
    started_at: num(r.started_at),
    complete: r.complete_at !== null,
    complete_at: num(r.complete_at),
    results: num(r.results),
    state_string: r.state_string,
    urls: urls(r.urls_json),
    hidden: Number(r.hidden) !== 0,
  };
}

async function getStep(r: ApiRequest): Promise<Item | undefined> {
  const stepid = await stepIdOf(r.db, r.args);
  if (stepid === undefined) return undefined;
  const { rows } = await selectPage<Row>(r.db, SOURCE, r.spec, [cond('steps.id = ?', stepid)]);
  return rows[0] && toStep(rows[0]);
}

async function listSteps(r: ApiRequest): Promise<ListResult | undefined> {
  const buildid = await buildIdOf(r.db, r.args);
  // Buildbot: 404 under a builder when the build does not exist, [] for an unknown build id.
  if (buildid === undefined) return undefined;
  const page = await selectPage<Row>(r.db, SOURCE, r.spec, [cond('steps.buildid = ?', buildid)], 'steps.number');
  return { items: page.rows.map(toStep), total: page.total };
}

export const stepsModule: ApiModule = {
  endpoints: [
    {
      type: STEP,
      kind: 'item',
      paths: withBuilderForms(
        '/steps/n:stepid',
        '/builds/n:buildid/steps/i:step_name',
        '/builds/n:buildid/steps/n:step_number',
        '/builders/BUILDER/builds/n:build_number/steps/i:step_name',
        '/builders/BUILDER/builds/n:build_number/steps/n:step_number',
      ),
      get: getStep,
    },
    { type: STEP, kind: 'collection', paths: withBuilderForms('/builds/n:buildid/steps', '/builders/BUILDER/builds/n:build_number/steps'), get: listSteps },
  ],
};
