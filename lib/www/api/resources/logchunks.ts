/**
 * Log contents (Buildbot's data/logchunks.py): `/logs/{id}/contents` answers one logchunk
 * `{logid, firstline, content}` for lines offset..offset+limit-1 (all when no limit; 404 outside
 * the log), and `/logs/{id}/raw` the whole log as an attachment (an `s` log without its channel
 * characters). Same under the step forms. The per-line timestamps are not here: see
 * extensions/logLines.ts.
 */
import { getLog, getLogChunks } from '../../../db/logs.js';
import { linesToText, readLinesAsync } from '../../../logs/chunkCodec.js';
import type { Database } from '../../../db/connection.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { logIdOf } from '../nesting.js';
import type { ApiModule, ApiRequest, RawResult } from '../types.js';

const LOGCHUNK = { name: 'logchunk', plural: 'logchunks', fields: { logid: F.int(), firstline: F.int(), content: F.str() } };

/** Where Buildbot serves contents and raw (the builder-name forms are not among them). */
const LOG_FORMS = [
  '/logs/n:logid',
  '/steps/n:stepid/logs/i:log_slug',
  '/builds/n:buildid/steps/i:step_name/logs/i:log_slug',
  '/builds/n:buildid/steps/n:step_number/logs/i:log_slug',
  '/builders/n:builderid/builds/n:build_number/steps/i:step_name/logs/i:log_slug',
  '/builders/n:builderid/builds/n:build_number/steps/n:step_number/logs/i:log_slug',
];

/** Lines first..last (inclusive) of a log, with their receive times. */
export async function logLines(db: Database, logid: number, first: number, last: number) {
  return readLinesAsync(await getLogChunks(db, logid, first, last), first, last);
}

async function contents(r: ApiRequest): Promise<Item | undefined> {
  const logid = await logIdOf(r.db, r.args);
  if (logid === undefined) return undefined;
  const { limit, offset } = r.spec.takePaging();
  const first = offset ?? 0;
  let last: number;
  if (limit === undefined) {
    const log = await getLog(r.db, logid);
    if (!log) return undefined;
    last = Math.max(0, Number(log.num_lines) - 1);
  } else last = first + limit - 1;
  if (first < 0 || last < 0 || first > last) return undefined;
  const { lines } = await logLines(r.db, logid, first, last);
  return { logid, firstline: first, content: linesToText(lines) };
}

async function raw(r: ApiRequest): Promise<RawResult | undefined> {
  const logid = await logIdOf(r.db, r.args);
  if (logid === undefined) return undefined;
  const log = await getLog(r.db, logid);
  if (!log) return undefined;
  const { lines } = await logLines(r.db, logid, 0, Math.max(0, Number(log.num_lines) - 1));
  const text = log.type === 's' ? lines.map((l) => l.slice(1)).join('\n') : linesToText(lines);
  return { raw: text, mimeType: log.type === 'h' ? 'text/html' : 'text/plain', filename: log.slug };
}

export const logchunksModule: ApiModule = {
  endpoints: [
    { type: LOGCHUNK, kind: 'item', rootLink: 'logchunks', paths: LOG_FORMS.map((f) => `${f}/contents`).join(' '), get: contents },
    { type: LOGCHUNK, kind: 'raw', paths: LOG_FORMS.map((f) => `${f}/raw`).join(' '), get: raw },
  ],
};
