import type { Context } from 'koa';

/**
 * Sends a data API answer as Buildbot does: compact JSON when the client accepts application/json,
 * otherwise indented text/plain (handy in a browser).
 */
export function sendData(ctx: Context, body: unknown, status = 200): void {
  ctx.status = status;
  if ((ctx.get('accept') ?? '').includes('application/json')) {
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(body);
  } else {
    ctx.type = 'text/plain';
    ctx.body = JSON.stringify(body, null, 2);
  }
}

/** A collection envelope: `{ "<plural>": [...], "meta": { "total": N } }`. */
export function collection(plural: string, items: unknown[]): Record<string, unknown> {
  return { [plural]: items, meta: { total: items.length } };
}
