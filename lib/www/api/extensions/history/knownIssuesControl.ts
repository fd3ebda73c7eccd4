/**
 * Known-issue rules through the REST API, as JSON-RPC like the other controls (the data API is
 * read-only; knownIssues.ts serves the GETs):
 *   POST /api/v2/known_issues       {"method":"add","params":{"title":…,"url"?,"pattern"?,"flags"?,"signature"?,"builders"?}}
 *   POST /api/v2/known_issues/{id}  {"method":"update","params":{…the fields to change; null clears}}
 *                                   {"method":"delete","params":{}}
 * `pattern` is a regex source and `flags` its flags (e.g. "i"); `signature` a signature hash or an
 * error line whose signature is meant. add and update answer the rule as GET /known_issues/{id}
 * does, and apply it to recorded unlabelled failures (lib/history/knownIssues.ts). Rules from the
 * config are changed in the config: 409 here. Needs the 'classify' role, as labelling does.
 */
import type { Router, RouterContext } from '@koa/router';
import type { Database } from '../../../../db/connection.js';
import { BuildmasterError } from '../../../../errors/index.js';
import { addKnownIssue, deleteKnownIssue, updateKnownIssue, type KnownIssueSpec } from '../../../../history/knownIssues.js';
import { authorizeControl } from '../../../auth.js';
import type { WwwContext } from '../../../context.js';
import { decodeJsonRpc, replyError, replyResult, type JsonRpcCall } from '../../../jsonRpc.js';
import { JSONRPC_CODES, JsonRpcError } from '../../../jsonRpcError.js';
import { knownIssueItem } from './knownIssues.js';

const FIELDS = ['title', 'url', 'pattern', 'flags', 'signature', 'builders'] as const;

function invalid(message: string): JsonRpcError {
  return new JsonRpcError(400, JSONRPC_CODES.invalidParams, message);
}

function optString(params: Record<string, unknown>, name: string): string | null | undefined {
  const v = params[name];
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string') throw invalid(`${name} must be a string or null, not ${JSON.stringify(v)}`);
  return v;
}

/** The params as a (partial) KnownIssueSpec; unknown keys are refused so a typo is not ignored. */
function specOf(params: Record<string, unknown>): Partial<KnownIssueSpec> {
  for (const k of Object.keys(params)) {
    if (!(FIELDS as readonly string[]).includes(k)) throw invalid(`unknown parameter '${k}' (known: ${FIELDS.join(', ')})`);
  }
  const spec: Partial<KnownIssueSpec> = {};
  const title = optString(params, 'title');
  if (title === null) throw invalid('title cannot be null');
  if (title !== undefined) spec.title = title;
  for (const k of ['url', 'signature'] as const) {
    const v = optString(params, k);
    if (v !== undefined) spec[k] = v;
  }
  const pattern = optString(params, 'pattern');
  const flags = optString(params, 'flags');
  if (flags && !/^[imsu]*$/.test(flags)) throw invalid(`flags may only hold i, m, s, u, not '${flags}'`);
  if (flags && !pattern) throw invalid('flags need a pattern');
  if (pattern) {
    try {
      spec.pattern = new RegExp(pattern, flags ?? '');
    } catch (err) {
      throw invalid(`invalid pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
  } else if (pattern !== undefined) spec.pattern = null;
  const builders = params.builders;
  if (builders !== undefined) {
    if (builders !== null && (!Array.isArray(builders) || builders.some((b) => typeof b !== 'string'))) {
      throw invalid(`builders must be a list of builder names or null, not ${JSON.stringify(builders)}`);
    }
    spec.builders = builders as string[] | null;
  }
  return spec;
}

function dbOf(w: WwwContext): Database {
  const db = (w.master as { db?: Database }).db;
  if (!db) throw new JsonRpcError(501, JSONRPC_CODES.methodNotFound, 'this server has no database');
  return db;
}

type Handler = (db: Database, call: JsonRpcCall, who: string, id: number | undefined) => Promise<unknown>;

async function answer(ctx: RouterContext, w: WwwContext, methods: Record<string, Handler>): Promise<void> {
  const state: { id?: JsonRpcCall['id'] } = {};
  try {
    const call = await decodeJsonRpc(ctx, state);
    const method = methods[call.method];
    if (!method) throw new JsonRpcError(501, JSONRPC_CODES.methodNotFound, `action: ${call.method} is not supported`);
    const identity = authorizeControl(ctx, undefined, 'classify');
    const who = identity.username ?? identity.via;
    const raw = ctx.params.known_issueid;
    const id = raw === undefined ? undefined : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(id)) throw new JsonRpcError(404, JSONRPC_CODES.invalidParams, `no known issue ${raw}`);
    const result = await method(dbOf(w), call, who, id);
    w.logger.info({ event: 'www.knownIssue', method: call.method, known_issueid: id, user: who }, `known issue ${call.method} by ${who}`);
    replyResult(ctx, call.id, result ?? null);
  } catch (err) {
    if (err instanceof JsonRpcError) return replyError(ctx, state.id, err);
    if (err instanceof BuildmasterError && err.userError) {
      const status = /comes from the config/.test(err.message) ? 409 : 400;
      return replyError(ctx, state.id, new JsonRpcError(status, JSONRPC_CODES.invalidParams, err.message));
    }
    throw err;
  }
}

const notFound = (id: number | undefined) => new JsonRpcError(404, JSONRPC_CODES.invalidParams, `no known issue ${id}`);

const COLLECTION: Record<string, Handler> = {
  add: async (db, call, who) => {
    const spec = specOf(call.params);
    return knownIssueItem(await addKnownIssue(db, { ...spec, title: spec.title ?? '' }, who));
  },
};

const ITEM: Record<string, Handler> = {
  update: async (db, call, _who, id) => {
    const got = await updateKnownIssue(db, id!, specOf(call.params));
    if (!got) throw notFound(id);
    return knownIssueItem(got);
  },
  delete: async (db, _call, _who, id) => {
    if (!(await deleteKnownIssue(db, id!))) throw notFound(id);
    return null;
  },
};

/** Registers the known-issue controls on the web server's router (lib/www/app.ts). */
export function registerKnownIssueControls(router: Router, w: WwwContext): void {
  for (const prefix of ['/api/v2', '/api/latest']) {
    router.post(`${prefix}/known_issues`, (ctx) => answer(ctx, w, COLLECTION));
    router.post(`${prefix}/known_issues/:known_issueid`, (ctx) => answer(ctx, w, ITEM));
  }
}
