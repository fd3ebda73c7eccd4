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

export function sendJson(ctx: Context, body: unknown, status = 200): void {
  ctx.status = status;
  if ((ctx.get('accept') ?? '').includes('application/json')) {
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = JSON.stringify(body, sortKeys);
  } else {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = JSON.stringify(body, sortKeys, 2);
  }
}

/** Buildbot's REST error: `{"error": "..."}` as text/plain. */
export function sendError(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = JSON.stringify({ error: message });
}
