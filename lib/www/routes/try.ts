/**
 * The try endpoint (our HTTP form of Buildbot's Try_Userpass; `buildmaster try` is its client):
 *
 *   GET  /api/v2/try              the Try schedulers and their builders (Buildbot's getAvailableBuilderNames)
 *   POST /api/v2/try[/:scheduler] a job, JSON: { patch | patch_base64, patchlevel?, baserev?, branch?,
 *                                 repository?, project?, builderNames?, who?, comment?, properties? }
 *                                 → 201 { bsid, brids: {builderName: brid}, builderNames }
 *
 * Credentials always (a try job runs the sender's code): HTTP Basic for one of the scheduler's
 * `userpass` or www.users, or `Authorization: Bearer <token>` for its `token`. A bad job is a 400
 * with the reason; nothing is stored for it.
 */
import type { Router, RouterContext } from '@koa/router';
import type { Context } from 'koa';
import { TryJobError, type TryJob, type TryScheduler } from '../../schedulers/try.js';
import { clientAddress, identityOf, passwordMatches, type AuthService } from '../auth.js';
import type { WwwContext } from '../context.js';
import { sendData } from './data.js';

const MAX_BODY_BYTES = 20 << 20;
const REALM = 'buildmaster try';

/** What the route needs of the master: its schedulers (Master.schedulers). */
interface TrySchedulers {
  tryScheduler(name?: string): TryScheduler | undefined;
  tryNames(): string[];
}

function schedulersOf(w: WwwContext): TrySchedulers | undefined {
  const s = (w.master as { schedulers?: unknown }).schedulers as Partial<TrySchedulers> | undefined;
  return s && typeof s.tryScheduler === 'function' && typeof s.tryNames === 'function' ? (s as TrySchedulers) : undefined;
}

function tryList(w: WwwContext): TryScheduler[] {
  const all = schedulersOf(w);
  return (all?.tryNames() ?? []).map((n) => all!.tryScheduler(n)).filter((s): s is TryScheduler => s !== undefined);
}

function fail(ctx: Context, status: number, error: string, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ error });
}

class BadRequest extends Error {}

/**
 * Wrong Try credentials count against the login limiter as the others do (auth.ts), since a
 * www.auth user's password is accepted here too: the seconds to wait, 0 when one may try.
 */
function throttled(ctx: Context): number {
  const auth = ctx.state.auth as AuthService | undefined;
  return auth ? auth.limiter.retryAfterSeconds(clientAddress(ctx)) : 0;
}

function countFailure(ctx: Context): void {
  if (ctx.get('authorization')) (ctx.state.auth as AuthService | undefined)?.limiter.recordFailure(clientAddress(ctx));
}

/** Undefined when the caller may go on; else the refusal has been answered. */
async function authenticateOrRefuse(ctx: Context, w: WwwContext, schedulers: readonly TryScheduler[], challenge: Record<string, string>): Promise<string | undefined> {
  const wait = throttled(ctx);
  if (wait > 0) {
    fail(ctx, 429, 'too many failed logins; try again later', { 'Retry-After': String(wait) });
    return undefined;
  }
  const who = await authenticate(ctx, w, schedulers);
  if (who === undefined) {
    countFailure(ctx);
    fail(ctx, 401, 'authentication required', challenge);
  }
  return who;
}

async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  if (ctx.request.type !== 'application/json') throw new BadRequest('send the job as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`the job is larger than ${MAX_BODY_BYTES >> 20} MiB`);
    chunks.push(chunk as Buffer);
  }
  let data: unknown;
  try {
    data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new BadRequest(`JSON parse error: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new BadRequest('the job must be a JSON object');
  return data as Record<string, unknown>;
}

const optString = (job: Record<string, unknown>, key: string): string | undefined => {
  const v = job[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadRequest(`${key} must be a string`);
  return v;
};

/** The request body → a TryJob (400 for anything malformed). */
export function parseTryJob(job: Record<string, unknown>): TryJob {
  let patch: string | Buffer;
  if (typeof job.patch_base64 === 'string') patch = Buffer.from(job.patch_base64, 'base64');
  else if (typeof job.patch === 'string') patch = job.patch;
  else throw new BadRequest('give the diff as patch (text) or patch_base64');
  const level = job.patchlevel ?? 1;
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 0) throw new BadRequest('patchlevel must be a non-negative integer');
  const builderNames = job.builderNames ?? [];
  if (!Array.isArray(builderNames) || builderNames.some((b) => typeof b !== 'string')) throw new BadRequest('builderNames must be a list of strings');
  const properties = job.properties ?? {};
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) throw new BadRequest('properties must be an object');
  return {
    patch,
    patchlevel: level,
    baseRevision: optString(job, 'baserev') ?? optString(job, 'baseRevision') ?? null,
    branch: optString(job, 'branch') ?? null,
    repository: optString(job, 'repository') ?? '',
    project: optString(job, 'project') ?? '',
    builderNames: builderNames as string[],
    who: optString(job, 'who'),
    comment: optString(job, 'comment'),
    properties: properties as Record<string, unknown>,
  };
}

/**
 * The authenticated user name ('' for a token), or undefined when the credentials are missing or
 * wrong: www.users, or the userpass/token of one of `schedulers`.
 */
async function authenticate(ctx: Context, w: WwwContext, schedulers: readonly TryScheduler[]): Promise<string | undefined> {
  // A www.auth user or API token the auth middleware already recognised, with a role allowed 'try'.
  const who = identityOf(ctx);
  const auth = ctx.state.auth as AuthService | undefined;
  if ((who.via === 'token' || who.via === 'basic' || who.via === 'session') && auth?.authz.check(who, 'try').allowed) return who.username ?? '';
  const header = ctx.get('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) {
    for (const s of schedulers) if (await s.checkToken(bearer[1]!)) return '';
    return undefined;
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const text = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const [user, pass] = [text.slice(0, colon), text.slice(colon + 1)];
  let ok = false;
  for (const u of w.users) if (passwordMatches(u.password, pass) && u.username === user) ok = true;
  for (const s of schedulers) if (!ok) ok = await s.checkUserpass(user, pass);
  return ok ? user : undefined;
}

export function registerTry(router: Router, w: WwwContext): void {
  const challenge = { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` };

  router.get('/api/v2/try', async (ctx: RouterContext) => {
    const all = tryList(w);
    if ((await authenticateOrRefuse(ctx, w, all, challenge)) === undefined) return;
    const schedulers = all.map((s) => ({ name: s.name, builderNames: s.config.builderNames.filter((b) => typeof b === 'string') }));
    sendData(ctx, { try: schedulers, meta: { total: schedulers.length } });
  });

  const submit = async (ctx: RouterContext) => {
    const all = schedulersOf(w);
    const name = ctx.params.scheduler;
    const sched = all?.tryScheduler(name);
    // An unknown name is reported only to those who could use some Try scheduler.
    const who = await authenticateOrRefuse(ctx, w, sched ? [sched] : tryList(w), challenge);
    if (who === undefined) return;
    if (!sched) {
      const names = all?.tryNames() ?? [];
      const why = name !== undefined ? `no Try scheduler named '${name}'` : names.length ? `name the Try scheduler: /api/v2/try/<name> (${names.join(', ')})` : 'this master has no Try scheduler';
      return fail(ctx, 404, why);
    }
    let job: TryJob;
    try {
      job = parseTryJob(await readJson(ctx));
    } catch (err) {
      if (err instanceof BadRequest) return fail(ctx, 400, err.message);
      throw err;
    }
    job.who ??= who || undefined;
    try {
      const { bsid, brids, builderNames } = await sched.submit(job);
      const byName: Record<string, number> = {};
      for (const b of builderNames) {
        const id = w.master.builderIds().get(b);
        if (id !== undefined && brids[id] !== undefined) byName[b] = brids[id]!;
      }
      w.logger.info({ event: 'www.try', scheduler: sched.name, bsid, user: who }, `try job for ${sched.name} (buildset ${bsid})`);
      ctx.status = 201;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ bsid, brids: byName, builderNames });
    } catch (err) {
      if (err instanceof TryJobError) return fail(ctx, 400, err.message);
      throw err;
    }
  };
  router.post('/api/v2/try', submit);
  router.post('/api/v2/try/:scheduler', submit);
}
