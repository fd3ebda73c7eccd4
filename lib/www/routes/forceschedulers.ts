/**
 * /api/v2/forceschedulers: the force forms (GET) and the JSON-RPC `force` control (POST), as
 * Buildbot's data/forceschedulers.py. `force` takes builderNames or builderid, reason, username, the
 * codebase fields by full name (`branch`, `<codebase>_revision`, …) and property fields by name, and
 * answers `[bsid, {builderid: brid}]`. Our addition: a `properties` object of extra properties.
 */
import type { Router, RouterContext } from '@koa/router';
import type { ResolvedCodebaseParameter, ResolvedForceParameter, ResolvedForceScheduler } from '../../config/resolved.js';
import { ForceValidationError, type ForceArgs } from '../../schedulers/forceScheduler.js';
import { authorizeControl } from '../auth.js';
import type { WwwContext } from '../context.js';
import { decodeJsonRpc, replyError, replyResult, type JsonRpcCall } from '../jsonRpc.js';
import { JSONRPC_CODES, JsonRpcError } from '../jsonRpcError.js';
import { collection, sendData } from './data.js';

export const ROOT_LINK = 'forceschedulers';

const TYPES: Record<string, string> = {
  StringParameter: 'text',
  TextParameter: 'textarea',
  IntParameter: 'int',
  BooleanParameter: 'bool',
  ChoiceStringParameter: 'list',
  FixedParameter: 'fixed',
  UserNameParameter: 'username',
};

function fieldSpec(p: ResolvedForceParameter): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    name: p.name,
    fullName: p.fullName,
    label: p.label,
    tablabel: p.tablabel,
    type: TYPES[p.kind] ?? 'text',
    default: p.default,
    required: p.required,
    multiple: p.multiple,
    regex: p.regex ? p.regex.source : null,
    hide: p.hide,
    maxsize: p.maxsize ?? null,
    autopopulate: p.autopopulate ?? null,
  };
  for (const k of ['size', 'cols', 'rows', 'choices', 'strict', 'need_email'] as const) if (p[k] !== undefined) spec[k] = p[k];
  return spec;
}

function nested(name: string, label: string, fields: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const visible = fields.filter((f) => !f.hide).length;
  return { name, fullName: name, label, tablabel: label, type: 'nested', default: '', required: false, multiple: false, regex: null, hide: false, maxsize: null, autopopulate: null, layout: 'vertical', columns: visible >= 4 ? 2 : 1, fields, ...extra };
}

function codebaseSpec(cb: ResolvedCodebaseParameter): Record<string, unknown> {
  return nested(cb.name, cb.label, cb.fields.map(fieldSpec), { hide: cb.hide, codebase: cb.codebase });
}

/** The resource as Buildbot's forceScheduler2Data gives it. */
export function forceSchedulerData(s: ResolvedForceScheduler): Record<string, unknown> {
  return {
    name: s.name,
    button_name: s.buttonName,
    label: s.label,
    builder_names: s.builderNames,
    enabled: true,
    all_fields: [
      nested('', '', [fieldSpec(s.username), fieldSpec(s.reason)]),
      ...s.codebaseParameters.map(codebaseSpec),
      ...s.forceProperties.map(fieldSpec),
    ],
  };
}

function forceSchedulers(w: WwwContext): ResolvedForceScheduler[] {
  return w.master.config.schedulers.filter((s): s is ResolvedForceScheduler => s.kind === 'ForceScheduler');
}

/** JSON-RPC params → ForceArgs: Buildbot passes them on as keyword arguments of force(). */
function forceArgs(params: Record<string, unknown>): ForceArgs {
  const { builderNames, builderid, owner, properties, ...fields } = params;
  if (builderNames !== undefined && (!Array.isArray(builderNames) || builderNames.some((n) => typeof n !== 'string'))) {
    throw new JsonRpcError(400, JSONRPC_CODES.invalidParams, 'builderNames must be a list of strings');
  }
  if (builderid !== undefined && !Number.isInteger(Number(builderid))) {
    throw new JsonRpcError(400, JSONRPC_CODES.invalidParams, 'builderid must be an integer');
  }
  if (properties !== undefined && (properties === null || typeof properties !== 'object' || Array.isArray(properties))) {
    throw new JsonRpcError(400, JSONRPC_CODES.invalidParams, 'properties must be an object');
  }
  return {
    ...(builderNames !== undefined ? { builderNames: builderNames as string[] } : {}),
    ...(builderid !== undefined ? { builderid: Number(builderid) } : {}),
    ...(typeof owner === 'string' ? { owner } : {}),
    ...(properties !== undefined ? { properties: properties as Record<string, unknown> } : {}),
    fields,
  };
}

export function registerForceSchedulers(router: Router, w: WwwContext): void {
  router.get('/api/v2/forceschedulers', (ctx: RouterContext) => {
    sendData(ctx, collection('forceschedulers', forceSchedulers(w).map(forceSchedulerData)));
  });

  router.get('/api/v2/forceschedulers/:name', (ctx: RouterContext) => {
    const s = forceSchedulers(w).find((x) => x.name === ctx.params.name);
    if (!s) return sendData(ctx, { error: 'not found' }, 404);
    sendData(ctx, { forceschedulers: [forceSchedulerData(s)], meta: {} });
  });

  router.post('/api/v2/forceschedulers/:name', async (ctx: RouterContext) => {
    const state: { id?: JsonRpcCall['id'] } = {};
    try {
      const call = await decodeJsonRpc(ctx, state);
      const who = authorizeControl(ctx, w.users);
      const sched = forceSchedulers(w).find((x) => x.name === ctx.params.name);
      if (!sched) throw new JsonRpcError(404, JSONRPC_CODES.invalidRequest, `no forcescheduler named '${ctx.params.name}'`);
      if (call.method !== 'force') throw new JsonRpcError(501, JSONRPC_CODES.methodNotFound, `action: ${call.method} is not supported`);
      // The server decides who forced, never the caller (Buildbot injects params.owner).
      const args = forceArgs({ ...call.params, owner: who.username ?? 'anonymous' });
      const { bsid, brids } = await w.master.force(sched.name, args);
      w.logger.info({ event: 'www.force', scheduler: sched.name, bsid, user: who.username ?? 'anonymous' }, `forced ${sched.name} (buildset ${bsid})`);
      replyResult(ctx, call.id, [bsid, brids]);
    } catch (err) {
      if (err instanceof JsonRpcError) return replyError(ctx, state.id, err);
      if (err instanceof ForceValidationError) return replyError(ctx, state.id, new JsonRpcError(400, JSONRPC_CODES.invalidParams, err.errors));
      w.logger.error({ event: 'www.controlFailed', err: (err as Error).stack ?? String(err) }, 'control request failed');
      replyError(ctx, state.id, new JsonRpcError(500, JSONRPC_CODES.internalError, String(err)));
    }
  });
}
