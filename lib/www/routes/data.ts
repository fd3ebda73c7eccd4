/**
 * The data API's answer helpers for routes outside lib/www/api (the root and force schedulers
 * routes use them): Buildbot's encoding — sorted keys, compact JSON for `Accept: application/json`,
 * indented text/plain otherwise. The resources themselves are served by lib/www/api.
 */
import type { Context } from 'koa';
import { sendJson } from '../api/encode.js';

export function sendData(ctx: Context, body: unknown, status = 200): void {
  sendJson(ctx, body, status);
}

/** A collection envelope: `{ "<plural>": [...], "meta": { "total": N } }`. */
export function collection(plural: string, items: unknown[]): Record<string, unknown> {
  return { [plural]: items, meta: { total: items.length } };
}
