/**
 * Control over JSON-RPC 2.0, as Buildbot's V2RootResource: POST /api/v2/<path> with
 * {"jsonrpc":"2.0","method":M,"params":{…},"id":X}. One module per resource's actions; the force
 * schedulers keep theirs in routes/forceschedulers.ts. Every call is authorised as
 * `<resource>.<method>` (authz.ts) for the builder it concerns, after the object is found (404) and
 * before it is touched; an unknown method is a 501 as in Buildbot.
 */
import type { Router, RouterContext } from '@koa/router';
import { BuildmasterError } from '../../errors/index.js';
import { authorizeControl, identityOf } from '../auth.js';
import type { WwwContext } from '../context.js';
import { decodeJsonRpc, replyError, replyResult, type JsonRpcCall } from '../jsonRpc.js';
import { JSONRPC_CODES, JsonRpcError } from '../jsonRpcError.js';
import { buildrequestsControl } from './buildrequests.js';
import { buildsControl } from './builds.js';
import type { ControlMaster, ControlResource } from './types.js';
import { workersControl } from './workers.js';

export type { ControlMaster } from './types.js';

/** Path patterns (koa-router) → the resource that handles them. */
const ROUTES: [string, ControlResource<any>][] = [
  ['/api/v2/builds/:buildid', buildsControl],
  ['/api/v2/builders/:builder/builds/:number', buildsControl],
  ['/api/v2/buildrequests/:buildrequestid', buildrequestsControl],
  ['/api/v2/workers/:worker', workersControl],
];

function controlMaster(w: WwwContext): ControlMaster {
  const m = w.master as Partial<ControlMaster>;
  if (!m.db || !m.bus || typeof m.runningBuild !== 'function' || typeof m.submitBuildset !== 'function' || !m.workers) {
    throw new JsonRpcError(501, JSONRPC_CODES.methodNotFound, 'this server has no master to control');
  }
  return m as ControlMaster;
}

export function registerControl(router: Router, w: WwwContext): void {
  for (const [pattern, res] of ROUTES) {
    for (const prefix of ['', '/api/latest']) {
      router.post(prefix ? pattern.replace('/api/v2', prefix) : pattern, async (ctx: RouterContext) => {
        const state: { id?: JsonRpcCall['id'] } = {};
        try {
          const call = await decodeJsonRpc(ctx, state);
          const master = controlMaster(w);
          const method = res.methods[call.method];
          if (!method) throw new JsonRpcError(501, JSONRPC_CODES.methodNotFound, `action: ${call.method} is not supported`);
          // Unauthenticated callers learn nothing, not even whether the object exists.
          if (identityOf(ctx).via === 'anonymous') authorizeControl(ctx, undefined, `${res.resource}.${call.method}`);
          const { target, builder } = await res.target(master, ctx.params as Record<string, string>);
          const who = authorizeControl(ctx, undefined, `${res.resource}.${call.method}`, builder !== undefined ? { builder } : {});
          const params = { ...call.params, owner: who.username ?? 'anonymous' };
          const result = await method({ master, w, params, who }, target);
          w.logger.info({ event: 'www.control', resource: res.resource, method: call.method, path: ctx.path, user: who.username ?? who.via }, `${call.method} ${ctx.path} by ${who.username ?? who.via}`);
          replyResult(ctx, call.id, result ?? null);
        } catch (err) {
          if (err instanceof JsonRpcError) return replyError(ctx, state.id, err);
          if (err instanceof BuildmasterError && err.userError) return replyError(ctx, state.id, new JsonRpcError(409, JSONRPC_CODES.invalidRequest, err.message));
          w.logger.error({ event: 'www.controlFailed', path: ctx.path, err: (err as Error).stack ?? String(err) }, 'control request failed');
          replyError(ctx, state.id, new JsonRpcError(500, JSONRPC_CODES.internalError, String(err)));
        }
      });
    }
  }
}
