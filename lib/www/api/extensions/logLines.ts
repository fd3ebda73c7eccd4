/**
 * Our extension: a log's lines one by one, each with the time the master received it, at
 * `/api/v2/logs/{logid}/lines` (and under the step forms). `offset` is the first line (0-based),
 * `limit` the count; filters and order work on `line`, `content` and `timestamp` as on any
 * collection. `timestamp` is in milliseconds since the epoch, null when unknown (e.g. a log
 * written by Buildbot). Buildbot's /contents and /raw stay as they are.
 */
import { getLog } from '../../../db/logs.js';
import { F } from '../fields.js';
import { logIdOf, withBuilderForms } from '../nesting.js';
import { STEP_FORMS } from '../resources/logs.js';
import { logLines } from '../resources/logchunks.js';
import type { ApiModule, ApiRequest, ListResult } from '../types.js';

const LOG_LINE = {
  name: 'line',
  plural: 'lines',
  fields: { logid: F.int(), line: F.int(), content: F.str(), timestamp: F.int(true) },
};

async function lines(r: ApiRequest): Promise<ListResult | undefined> {
  const logid = await logIdOf(r.db, r.args);
  if (logid === undefined) return undefined;
  const log = await getLog(r.db, logid);
  if (!log) return undefined;
  const total = Number(log.num_lines);
  // Without filters or order the page can be read alone; otherwise read all and let the spec work.
  const simple = r.spec.filters.length === 0 && !r.spec.order;
  let first = 0;
  let last = total - 1;
  if (simple) {
    const { limit, offset } = r.spec.takePaging();
    first = offset ?? 0;
    if (limit !== undefined) last = Math.min(last, first + limit - 1);
  }
  if (first > last) return { items: [], total: simple ? total : undefined };
  const got = await logLines(r.db, logid, first, last);
  const items = got.lines.map((content, i) => ({ logid, line: got.firstLine + i, content, timestamp: got.timestamps[i] }));
  return simple ? { items, total } : { items };
}

export const logLinesModule: ApiModule = {
  endpoints: [
    {
      type: LOG_LINE,
      kind: 'collection',
      paths: withBuilderForms('/logs/n:logid/lines', ...STEP_FORMS.map((s) => `${s}/logs/i:log_slug/lines`)),
      get: lines,
    },
  ],
};
