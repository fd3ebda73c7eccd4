/**
 * The change hooks (Buildbot's /change_hook/<dialect>, www/change_hook.py): POST (or GET, as
 * Buildbot) /change_hook/base and /change_hook/github, for the dialects www.changeHooks enables.
 * One payload is one push, stored in one transaction; the answer is Buildbot's text, `N change
 * found` or `no change found`, status 200. A refused request stores nothing: 400 with the reason
 * (malformed, or a dialect not enabled), 401/403 (credentials, signature), 413 (too large).
 *
 * Who may call: base with `auth` needs those HTTP Basic credentials; github with a `secret` needs a
 * valid signature; a hook with neither answers only this machine's loopback.
 */
import type { Router, RouterContext } from '@koa/router';
import type { Context } from 'koa';
import type { ResolvedChangeHooks } from '../../config/resolved.js';
import { parseBaseHook } from '../../changes/hooks/base.js';
import { parseGithubHook } from '../../changes/hooks/github.js';
import { HookError } from '../../changes/hooks/hookError.js';
import type { HookRequest, HookResult } from '../../changes/hooks/hookRequest.js';
import { submitPush, type ChangeSink } from '../../changes/submitPush.js';
import { epochSeconds } from '../../db/query.js';
import { BuildmasterError } from '../../errors/BuildmasterError.js';
import { secretsLookup } from '../../master/secrets.js';
import { isLoopback, passwordMatches } from '../auth.js';
import type { WwwContext } from '../context.js';

/** GitHub sends at most 25 MB; a push that large is still a push. */
const MAX_BODY_BYTES = 25 << 20;
const REALM = 'buildmaster change hook';

/** What the route needs of the master: its database and bus (Master has both). */
function sinkOf(w: WwwContext): ChangeSink | undefined {
  const m = w.master as Partial<ChangeSink>;
  return m.db && m.bus ? { db: m.db, bus: m.bus, logger: w.logger } : undefined;
}

async function readBody(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HookError(413, `the payload is larger than ${MAX_BODY_BYTES >> 20} MiB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function requireLoopback(ctx: Context, what: string): void {
  if (!isLoopback(ctx.req.socket.remoteAddress)) throw new HookError(403, `the ${what} change hook accepts requests from this machine only unless ${what === 'base' ? 'auth' : 'a secret'} is configured`);
}

function requireBasicAuth(ctx: Context, auth: { username: string; password: string }): void {
  const challenge = { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` };
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(ctx.get('authorization') ?? '');
  if (!m) throw new HookError(401, 'authentication required', challenge);
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  const username = colon < 0 ? text : text.slice(0, colon);
  const password = colon < 0 ? '' : text.slice(colon + 1);
  // Compare the password whatever the name, so the time taken does not tell which part was wrong.
  const passwordOk = passwordMatches(auth.password, password);
  if (!passwordOk || username !== auth.username) throw new HookError(401, 'invalid username or password', challenge);
}

function hookRequest(ctx: Context, body: Buffer): HookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(ctx.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
  return { headers, contentType: (ctx.request.type ?? '').toLowerCase(), body, query: new URLSearchParams(ctx.querystring), now: epochSeconds() };
}

export function registerChangeHooks(router: Router, w: WwwContext): void {
  let secrets: ReturnType<typeof secretsLookup> | undefined;

  async function parse(ctx: Context, dialect: string, hooks: ResolvedChangeHooks): Promise<HookResult> {
    if (dialect === 'base' && hooks.base) {
      if (hooks.base.auth) requireBasicAuth(ctx, hooks.base.auth);
      else requireLoopback(ctx, 'base');
      return parseBaseHook(hookRequest(ctx, await readBody(ctx)));
    }
    if (dialect === 'github' && hooks.github) {
      const { secret: configured, ...opts } = hooks.github;
      let secret: string | undefined;
      if (typeof configured === 'string') secret = configured;
      else if (configured) {
        secrets ??= secretsLookup(w.master.config.secrets);
        secret = await secrets(configured.name);
        if (secret === undefined) throw new Error(`the github change hook's secret '${configured.name}' is not defined`);
      } else requireLoopback(ctx, 'github');
      return parseGithubHook(hookRequest(ctx, await readBody(ctx)), { ...opts, ...(secret !== undefined ? { secret } : {}) });
    }
    throw new HookError(400, `The dialect specified, '${dialect}', wasn't whitelisted in change_hook`);
  }

  const handler = async (ctx: RouterContext) => {
    const dialect = ctx.params.dialect || 'base';
    ctx.type = 'text/plain';
    try {
      const result = await parse(ctx, dialect, w.master.config.www.changeHooks ?? {});
      if (!result.push) {
        w.logger.info({ event: 'www.hookIgnored', dialect, reason: result.ignored }, `change hook ${dialect}: nothing to do (${result.ignored})`);
        ctx.status = 200;
        ctx.body = 'no change found';
        return;
      }
      const sink = sinkOf(w);
      if (!sink) throw new Error('this web server has no database to store changes in');
      const { pushid, changeids } = await submitPush(sink, result.push);
      w.logger.info({ event: 'www.hookPush', dialect, pushid, changes: changeids.length }, `change hook ${dialect}: push ${pushid} with ${changeids.length} change(s)`);
      ctx.status = 200;
      ctx.body = `${changeids.length} change found`;
    } catch (err) {
      if (err instanceof HookError || (err instanceof BuildmasterError && err.userError)) {
        const status = err instanceof HookError ? err.status : 400;
        if (err instanceof HookError) for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
        w.logger.warn({ event: 'www.hookRefused', dialect, status, reason: err.message, from: ctx.req.socket.remoteAddress }, `change hook ${dialect} refused (${status}): ${err.message}`);
        ctx.status = status;
        ctx.body = err.message;
        return;
      }
      w.logger.error({ event: 'www.hookFailed', dialect, err: (err as Error).stack ?? String(err) }, 'adding changes from a web hook failed');
      ctx.status = 500;
      ctx.body = 'Error processing changes.';
    }
  };
  for (const path of ['/change_hook', '/change_hook/:dialect']) {
    router.post(path, handler);
    router.get(path, handler);
  }
}
