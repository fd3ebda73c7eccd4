/**
 * The failures page's classify action, as JSON-RPC like the other controls:
 *   POST /api/v2/signatures/{id}  {"jsonrpc":"2.0","method":"classify","params":{"known_issueid":N|null},"id":1}
 * labels the signature (and its occurrences) with a known issue, or takes the label off with null
 * (lib/history/suggestions.ts classify). Needs the 'classify' role (lib/www/authz.ts).
 */
import type { Router, RouterContext } from '@koa/router';
import type { Database } from '../db/connection.js';
import { BuildmasterError } from '../errors/index.js';
import { classify } from '../history/suggestions.js';
import { authorizeControl } from './auth.js';
import type { WwwContext } from './context.js';
import { decodeJsonRpc, replyError, replyResult, type JsonRpcCall } from './jsonRpc.js';
import { JSONRPC_CODES, JsonRpcError } from './jsonRpcError.js';

function knownIssueOf(params: Record<string, unknown>): number | null {
  const v = params.known_issueid;
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new JsonRpcError(400, JSONRPC_CODES.invalidParams, `known_issueid must be an integer or null, not ${JSON.stringify(v)}`);
  return n;
}

export function registerClassify(router: Router, w: WwwContext): void {
  for (const prefix of ['/api/v2', '/api/latest']) {
    router.post(`${prefix}/signatures/:signatureid`, async (ctx: RouterContext) => {
      const state: { id?: JsonRpcCall['id'] } = {};
      try {
        const call = await decodeJsonRpc(ctx, state);
        if (call.method !== 'classify') throw new JsonRpcError(501, JSONRPC_CODES.methodNotFound, `action: ${call.method} is not supported`);
        const who = authorizeControl(ctx, undefined, 'classify');
        const db = (w.master as { db?: Database }).db;
        if (!db) throw new JsonRpcError(501, JSONRPC_CODES.methodNotFound, 'this server has no database');
        const signatureid = Number(ctx.params.signatureid);
        if (!Number.isInteger(signatureid)) throw new JsonRpcError(404, JSONRPC_CODES.invalidParams, `no failure signature ${ctx.params.signatureid}`);
        const issue = knownIssueOf(call.params);
        await classify(db, { signatureid }, issue, who.username ?? who.via);
        w.logger.info({ event: 'www.classify', signatureid, known_issueid: issue, user: who.username ?? who.via }, `signature ${signatureid} classified`);
        replyResult(ctx, call.id, null);
      } catch (err) {
        if (err instanceof JsonRpcError) return replyError(ctx, state.id, err);
        if (err instanceof BuildmasterError && err.userError) {
          const status = /^no failure signature/.test(err.message) ? 404 : 400;
          return replyError(ctx, state.id, new JsonRpcError(status, JSONRPC_CODES.invalidParams, err.message));
        }
        throw err;
      }
    });
  }
}
