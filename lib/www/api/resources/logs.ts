/** logs (Buildbot's data/logs.py): /logs/{id}, a step's logs, by slug, under every build form. */
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { logIdOf, stepIdOf, withBuilderForms } from '../nesting.js';
import { cond, selectPage, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest, ListResult } from '../types.js';

const LOG = {
  name: 'log',
  plural: 'logs',
  fields: { logid: F.int(), name: F.str(), slug: F.ident(50), stepid: F.int(), complete: F.bool(), num_lines: F.int(), type: F.ident(1) },
};

const SOURCE: SqlSource = {
  from: 'logs',
  select: 'logs.id, logs.name, logs.slug, logs.stepid, logs.complete, logs.num_lines, logs.type',
  columns: {
    logid: 'logs.id',
    name: 'logs.name',
    slug: 'logs.slug',
    stepid: 'logs.stepid',
    complete: '(logs.complete <> 0)',
    num_lines: 'logs.num_lines',
    type: 'logs.type',
  },
};

interface Row {
  id: number;
  name: string;
  slug: string;
  stepid: number;
  complete: number;
  num_lines: number;
  type: string;
}

function toLog(r: Row): Item {
  return { logid: Number(r.id), name: r.name, slug: r.slug, stepid: Number(r.stepid), complete: Number(r.complete) !== 0, num_lines: Number(r.num_lines), type: r.type };
}

/** The step forms of a path below which a log or its contents is found. */
export const STEP_FORMS = [
  '/steps/n:stepid',
  '/builds/n:buildid/steps/i:step_name',
  '/builds/n:buildid/steps/n:step_number',
  '/builders/BUILDER/builds/n:build_number/steps/i:step_name',
  '/builders/BUILDER/builds/n:build_number/steps/n:step_number',
];

async function getLog(r: ApiRequest): Promise<Item | undefined> {
  const logid = await logIdOf(r.db, r.args);
  if (logid === undefined) return undefined;
  const { rows } = await selectPage<Row>(r.db, SOURCE, r.spec, [cond('logs.id = ?', logid)]);
  return rows[0] && toLog(rows[0]);
}

async function listLogs(r: ApiRequest): Promise<ListResult> {
  const stepid = await stepIdOf(r.db, r.args);
  if (stepid === undefined) return { items: [] };
  const page = await selectPage<Row>(r.db, SOURCE, r.spec, [cond('logs.stepid = ?', stepid)], 'logs.id');
  return { items: page.rows.map(toLog), total: page.total };
}

export const logsModule: ApiModule = {
  endpoints: [
    { type: LOG, kind: 'item', paths: withBuilderForms('/logs/n:logid', ...STEP_FORMS.map((s) => `${s}/logs/i:log_slug`)), get: getLog },
    { type: LOG, kind: 'collection', paths: withBuilderForms(...STEP_FORMS.map((s) => `${s}/logs`)), get: listLogs },
  ],
};
