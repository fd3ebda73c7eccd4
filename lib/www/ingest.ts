/**
 * Ingestion (our extension, as Treeherder takes jobs from other CI systems):
 *
 *   POST /api/v2/ingest/jobs   application/json, role 'ingest' (docs/web.md "Ingestion")
 *   { builder, result, started_at, complete_at, revision?, branch?, repository?, project?, codebase?,
 *     worker?, step?, reason?, external_id?, properties?, log?, log_timestamps? }
 *   → 201 { buildid, number, builderid, buildsetid, buildrequestid, stepid, logid }
 *
 * A job run elsewhere becomes a finished build like ours: its builder (made if new, tagged
 * 'external'), a sourcestamp (shared with the change of the same revision, so the build shows in
 * that push's row of the grid), a completed buildset and request, the build, one step holding the
 * log (lines stored with the timestamps given, else the time received). Everything is checked before
 * anything is written, and written in one transaction: a bad job stores nothing and the 400 says why.
 * The bus then announces it all, so live pages, trends and failure signatures see it as any build.
 */
import type { Router, RouterContext } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { findOrCreateBuilder, getBuilderTags } from '../db/builders.js';
import { claimRequests, completeRequests } from '../db/buildrequests.js';
import { addBuild, completeBuild, getBuild, setBuildProperties } from '../db/builds.js';
import { addBuildset, maybeCompleteBuildset, type PropertyMap } from '../db/buildsets.js';
import type { Database } from '../db/connection.js';
import { addLog, appendLogChunks, finishLog } from '../db/logs.js';
import { addStep, completeStep, getStep } from '../db/steps.js';
import { findOrCreateWorker } from '../db/workers.js';
import { encodeChunksAsync } from '../logs/chunkCodec.js';
import type { MessageBus } from '../master/bus.js';
import { buildDict, publishBuildset, publishRequest } from '../process/messages.js';
import { RESULT_NAMES } from '../process/results.js';
import { AuthError, identityOf, type AuthService } from './auth.js';
import type { WwwContext } from './context.js';

export const EXTERNAL_TAG = 'external';
const MAX_BODY_BYTES = 64 << 20;
const PROPERTY_SOURCE = 'Ingest';

/** Epoch seconds, or an ISO 8601 date. */
const when = () =>
  z.union([z.number().nonnegative(), z.string().min(1)]).transform((v, ctx) => {
    const s = typeof v === 'number' ? v : Date.parse(v) / 1000;
    if (!Number.isFinite(s)) {
      ctx.addIssue({ code: 'custom', message: `not a date: ${JSON.stringify(v)} (epoch seconds or ISO 8601)` });
      return z.NEVER;
    }
    return s;
  });

const resultCode = z.union([z.number().int().min(0).max(RESULT_NAMES.length - 1), z.enum(RESULT_NAMES)]).transform((r) => (typeof r === 'number' ? r : RESULT_NAMES.indexOf(r)));

const optText = () => z.string().nullable().optional();

export const ingestJob = z
  .strictObject({
    builder: z.string().min(1).max(255),
    result: resultCode,
    started_at: when(),
    complete_at: when(),
    revision: optText(),
    branch: optText(),
    repository: z.string().optional(),
    project: z.string().optional(),
    codebase: z.string().optional(),
    worker: z.string().min(1).max(50).optional(),
    step: z.string().min(1).max(50).optional(),
    reason: z.string().optional(),
    external_id: z.string().max(255).optional(),
    properties: z.record(z.string(), z.unknown()).optional(),
    log: z.string().optional(),
    /** ms since epoch, one per line of `log`. */
    log_timestamps: z.array(z.number().nonnegative()).optional(),
  })
  .superRefine((j, ctx) => {
    if (j.complete_at < j.started_at) ctx.addIssue({ code: 'custom', message: 'complete_at is before started_at', path: ['complete_at'] });
    if (j.log_timestamps !== undefined) {
      if (j.log === undefined) ctx.addIssue({ code: 'custom', message: 'log_timestamps without a log', path: ['log_timestamps'] });
      else if (j.log_timestamps.length !== logLines(j.log).length) {
        ctx.addIssue({ code: 'custom', message: `has ${j.log_timestamps.length} entries for ${logLines(j.log).length} log lines`, path: ['log_timestamps'] });
      }
    }
  });

export type IngestJob = z.output<typeof ingestJob>;

export interface IngestedBuild {
  buildid: number;
  number: number;
  builderid: number;
  buildsetid: number;
  buildrequestid: number;
  stepid: number;
  logid: number | null;
}

/** The log's lines: a final newline ends the last line rather than starting an empty one. */
function logLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The problems of a payload, one per line as `path: message`. */
export function describeProblems(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('\n');
}

/** Writes the job as a finished build (see the file comment) and announces it on the bus. */
export async function ingest(deps: { db: Database; bus?: MessageBus; masterid: number; configuredBuilders?: ReadonlySet<string> }, job: IngestJob): Promise<IngestedBuild> {
  const { db, masterid } = deps;
  const started = Math.floor(job.started_at);
  const completed = Math.floor(job.complete_at);
  const lines = job.log !== undefined ? logLines(job.log) : undefined;
  const receivedMs = Date.now();
  // Encoding compresses; done before the transaction so it stays short.
  const chunks =
    lines && lines.length > 0
      ? await encodeChunksAsync(
          lines.map((l) => `o${l}`),
          0,
          { timestamps: job.log_timestamps ?? lines.map(() => receivedMs) },
        )
      : [];
  // A builder row is a shared, idempotent thing (as sourcestamps are): made before the transaction.
  let builderid: number;
  if (deps.configuredBuilders?.has(job.builder)) builderid = await findOrCreateBuilder(db, job.builder);
  else {
    builderid = await findOrCreateBuilder(db, job.builder);
    const tags = await getBuilderTags(db, builderid);
    if (!tags.includes(EXTERNAL_TAG)) await findOrCreateBuilder(db, job.builder, { tags: [...tags, EXTERNAL_TAG] });
  }
  const properties: PropertyMap = {};
  for (const [k, v] of Object.entries(job.properties ?? {})) properties[k] = [v, PROPERTY_SOURCE];
  const stepName = job.step ?? 'external';

  const out = await db.transaction(
    async (t) => {
      const workerid = job.worker !== undefined ? await findOrCreateWorker(db, job.worker, {}, t) : null;
      const { bsid, brids } = await addBuildset(
        db,
        {
          sourcestamps: [{ codebase: job.codebase ?? '', repository: job.repository ?? '', project: job.project ?? '', branch: job.branch ?? null, revision: job.revision ?? null }],
          reason: job.reason ?? `ingested job of ${job.builder}`,
          properties: { ...properties, scheduler: ['ingest', 'Scheduler'] },
          builderids: [builderid],
          submitted_at: started,
          ...(job.external_id !== undefined ? { external_idstring: job.external_id } : {}),
        },
        t,
      );
      const brid = brids[builderid]!;
      // Claimed and completed by this master at once: no distributor ever sees it pending.
      await claimRequests(db, [brid], masterid, started, t);
      const { buildid, number } = await addBuild(db, { builderid, buildrequestid: brid, workerid, masterid, state_string: 'building', started_at: started }, t);
      await setBuildProperties(db, buildid, { ...properties, buildername: [job.builder, 'Builder'], buildnumber: [number, 'Build'], ...(job.branch ? { branch: [job.branch, 'Build'] } : {}), ...(job.revision ? { revision: [job.revision, 'Build'] } : {}), ...(job.worker ? { workername: [job.worker, 'Worker'] } : {}) }, t);
      const step = await addStep(db, buildid, stepName, t, { startedAt: started });
      let logid: number | null = null;
      if (lines !== undefined) {
        logid = (await addLog(db, step.stepid, 'stdio', 's', t)).logid;
        if (chunks.length > 0) await appendLogChunks(db, logid, chunks, lines.length, t, { fresh: true });
        await finishLog(db, logid, t);
      }
      const stateString = `${RESULT_NAMES[job.result]} (external)`;
      await completeStep(db, step.stepid, { results: job.result, completeAt: completed, hidden: false, stateString: stepName }, t);
      await completeBuild(db, buildid, { results: job.result, completeAt: completed, stateString }, t);
      await completeRequests(db, [brid], job.result, completed, masterid, t);
      await maybeCompleteBuildset(db, bsid, completed, t);
      return { buildid, number, builderid, buildsetid: bsid, buildrequestid: brid, stepid: step.stepid, logid };
    },
    { driverOnly: true },
  );
  if (deps.bus) await announce(db, deps.bus, out);
  return out;
}

/** The events a build of ours would have sent, in order, for live pages and the history analyzers. */
async function announce(db: Database, bus: MessageBus, b: IngestedBuild): Promise<void> {
  await publishBuildset(db, bus, b.buildsetid, 'new', { scheduler: 'ingest' });
  await publishRequest(db, bus, b.buildrequestid, 'new');
  const build = await getBuild(db, b.buildid);
  const step = await getStep(db, b.stepid);
  if (build) bus.publish(['builds', String(b.buildid), 'new'], buildDict(build));
  if (step) {
    const row = { stepid: b.stepid, number: Number(step.number), name: step.name, buildid: b.buildid, started_at: step.started_at, complete: true, complete_at: step.complete_at, results: step.results, state_string: step.state_string, urls: [], hidden: false };
    bus.publish(['steps', String(b.stepid), 'new'], row);
    if (b.logid !== null) bus.publish(['logs', String(b.logid), 'finished'], { logid: b.logid, stepid: b.stepid, name: 'stdio', slug: 'stdio', complete: true, type: 's' });
    bus.publish(['steps', String(b.stepid), 'finished'], row);
  }
  if (build) bus.publish(['builds', String(b.buildid), 'finished'], buildDict(build));
  await publishRequest(db, bus, b.buildrequestid, 'complete');
  await publishBuildset(db, bus, b.buildsetid, 'complete');
}

async function readJson(ctx: Context): Promise<unknown> {
  if (!ctx.request.is('application/json')) throw new AuthError(400, 'send the job as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AuthError(413, `the job is larger than ${MAX_BODY_BYTES >> 20} MiB`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new AuthError(400, `JSON parse error: ${(err as Error).message}`);
  }
}

export function registerIngest(router: Router, w: WwwContext): void {
  const handler = async (ctx: RouterContext) => {
    const who = identityOf(ctx);
    const auth = ctx.state.auth as AuthService | undefined;
    const decision = auth?.authz.check(who, 'ingest') ?? { allowed: false as const, status: 401 as const, message: 'authentication required' };
    if (!decision.allowed) throw new AuthError(decision.status, decision.message);
    const m = w.master as { db?: Database; bus?: MessageBus; masterid?: number };
    if (!m.db || m.masterid === undefined) throw new AuthError(501, 'this server has no master database');
    const parsed = ingestJob.safeParse(await readJson(ctx));
    if (!parsed.success) throw new AuthError(400, describeProblems(parsed.error));
    const job = parsed.data;
    const out = await ingest({ db: m.db, masterid: m.masterid, configuredBuilders: new Set(w.master.builderIds().keys()), ...(m.bus ? { bus: m.bus } : {}) }, job);
    w.logger.info({ event: 'www.ingest', builder: job.builder, buildid: out.buildid, user: who.username ?? who.via }, `ingested a ${RESULT_NAMES[job.result]} job of ${job.builder} as build ${out.buildid}`);
    ctx.status = 201;
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(out);
  };
  router.post('/api/v2/ingest/jobs', handler);
  router.post('/api/latest/ingest/jobs', handler);
}
