/**
 * Data API answers as Buildbot writes them: JSON with sorted keys, compact when the client accepts
 * application/json, indented text/plain otherwise (readable in a browser).
 */
import type { Context } from 'koa';

function sortKeys(_k: string, v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** Python's json.dumps escapes every non-ASCII character (ensure_ascii): the same bytes as Buildbot's. */
function asciiOnly(json: string): string {
  return json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function sendJson(ctx: Context, body: unknown, status = 200): void {
  ctx.status = status;
  if ((ctx.get('accept') ?? '').includes('application/json')) {
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = asciiOnly(JSON.stringify(body, sortKeys));
  } else {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = asciiOnly(JSON.stringify(body, sortKeys, 2));
  }
}

/** Buildbot's REST error: `{"error": "..."}` as text/plain (json.dumps' default separators). */
export function sendError(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `{"error": ${asciiOnly(JSON.stringify(message))}}`;
}
