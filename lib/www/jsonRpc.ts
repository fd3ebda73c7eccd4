/**
 * The JSON-RPC 2.0 envelope of control requests (Buildbot's V2RootResource.renderJsonRpc): the
 * body must be application/json, one object with jsonrpc "2.0", a string method, an id (string,
 * number or null) and an object of params. Replies carry `result`, or `error: {code, message}`.
 */
import type { Context } from 'koa';
import { JSONRPC_CODES, JsonRpcError } from './jsonRpcError.js';

export interface JsonRpcCall {
  method: string;
  id: string | number | null;
  params: Record<string, unknown>;
}

const MAX_BODY_BYTES = 1 << 20;

async function readBody(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new JsonRpcError(413, JSONRPC_CODES.invalidRequest, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses and checks the call; `state.id` is filled as soon as it is known, for the error reply. */
export async function decodeJsonRpc(ctx: Context, state: { id?: JsonRpcCall['id'] }): Promise<JsonRpcCall> {
  // Browsers post forms cross-site, but never with this content type: a CSRF guard (as Buildbot).
  if (ctx.request.type !== 'application/json') {
    throw new JsonRpcError(400, JSONRPC_CODES.invalidRequest, 'Invalid content-type (use application/json)');
  }
  let data: unknown;
  try {
    data = JSON.parse(await readBody(ctx));
  } catch (err) {
    if (err instanceof JsonRpcError) throw err;
    throw new JsonRpcError(400, JSONRPC_CODES.parseError, `JSON parse error: ${(err as Error).message}`);
  }
  if (Array.isArray(data)) throw new JsonRpcError(400, JSONRPC_CODES.invalidRequest, 'JSONRPC batch requests are not supported');
  if (data === null || typeof data !== 'object') throw new JsonRpcError(400, JSONRPC_CODES.invalidRequest, 'JSONRPC root object must be an object');
  const d = data as Record<string, unknown>;
  const check = (name: string, ok: (v: unknown) => boolean, typename: string) => {
    if (!(name in d)) throw new JsonRpcError(400, JSONRPC_CODES.invalidRequest, `missing key '${name}'`);
    if (!ok(d[name])) throw new JsonRpcError(400, JSONRPC_CODES.invalidRequest, `'${name}' must be ${typename}`);
  };
  check('jsonrpc', (v) => typeof v === 'string', 'a string');
  check('method', (v) => typeof v === 'string', 'a string');
  check('id', (v) => v === null || typeof v === 'string' || typeof v === 'number', 'a string, number, or null');
  state.id = d.id as JsonRpcCall['id'];
  check('params', (v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'an object');
  if (d.jsonrpc !== '2.0') throw new JsonRpcError(400, JSONRPC_CODES.invalidRequest, 'only JSONRPC 2.0 is supported');
  return { method: d.method as string, id: state.id, params: { ...(d.params as Record<string, unknown>) } };
}

/** Buildbot answers with json.dumps(sort_keys=True, separators=(',', ':')). */
export function replyResult(ctx: Context, id: JsonRpcCall['id'], result: unknown): void {
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = sortedJson({ jsonrpc: '2.0', id, result });
}

export function replyError(ctx: Context, id: JsonRpcCall['id'] | undefined, err: JsonRpcError): void {
  ctx.status = err.status;
  for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
  ctx.type = 'application/json';
  const reply: Record<string, unknown> = { jsonrpc: '2.0' };
  if (id !== undefined) reply.id = id;
  reply.error = { code: err.code, message: err.rpcMessage };
  ctx.body = JSON.stringify(reply);
}

export function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
