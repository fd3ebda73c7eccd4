/**
 * The data API under /api/v2 (and /api/latest): GET and HEAD of every registered endpoint, with
 * Buildbot's query syntax, envelope and errors. POSTs (JSON-RPC control) are left to the routes
 * that handle them; a path no endpoint matches goes on to the rest of the app first, and is
 * answered with Buildbot's 404 if nothing else takes it.
 */
import type { Context, Middleware, Next } from 'koa';
import type { Database } from '../../db/connection.js';
import type { WwwContext } from '../context.js';
import { ApiError } from './apiError.js';
import { applyToList, selectFields, type Item } from './applySpec.js';
import { sendError, sendJson } from './encode.js';
import type { Field } from './fields.js';
import { PathMatcher } from './pathMatcher.js';
import { parseResultSpec, type Query } from './resultSpec.js';
import type { ApiModule, Endpoint, PathArgs, RawResult } from './types.js';

const PREFIX_RE = /^\/api\/(?:v2|latest)(?:\/(.*))?$/;

export class Api {
  private readonly matcher = new PathMatcher();
  private readonly links: string[] = [];

  constructor(modules: readonly ApiModule[]) {
    for (const m of modules) for (const e of m.endpoints) this.register(e);
  }

  /** Adds an endpoint (a module's, or one registered later by another part of the master). */
  register(e: Endpoint): void {
    for (const p of e.paths.split(/\s+/).filter(Boolean)) this.matcher.add(p, e);
    if (e.rootLink && !this.links.includes(e.rootLink)) this.links.push(e.rootLink);
  }

  rootLinks(): readonly string[] {
    return this.links;
  }

  /** Every path pattern (as `/builds/n:buildid`) with its endpoint. */
  paths(): readonly { text: string; endpoint: Endpoint }[] {
    return this.matcher.patterns();
  }

  /** Every path with its type (the /application.spec resource). */
  spec(): Item[] {
    return [...this.matcher.patterns()]
      .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
      .map(({ text, endpoint }) => ({
        path: text.slice(1),
        plural: endpoint.type.plural,
        type: endpoint.type.name,
        type_spec: {
          type: endpoint.type.name,
          // Buildbot names a nullable field's type "<type> or None" (NoneOk.name).
          fields: Object.entries(endpoint.type.fields).map(([name, f]) => ({
            name,
            type: f.nullable ? `${typeName(f.kind)} or None` : typeName(f.kind),
            type_spec: fieldSpec(f),
          })),
        },
      }));
  }

  middleware(w: WwwContext, db: () => Database): Middleware {
    return async (ctx: Context, next: Next) => {
      const m = PREFIX_RE.exec(ctx.path);
      if (!m || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
      const rest = m[1] ?? '';
      let segments: string[];
      try {
        segments = rest === '' ? [] : rest.split('/').map(decodeURIComponent);
      } catch {
        return sendError(ctx, 404, `Invalid path: ${rest}`);
      }
      const found = this.matcher.match(segments);
      if (!found) {
        // Another route (added by another part of the web server) may serve it.
        await next();
        if (ctx.status === 404 && ctx.body === undefined) sendError(ctx, 404, `Invalid path: ${segments.join('/')}`);
        return;
      }
      try {
        await this.answer(ctx, w, db, found.endpoint, found.args, found.pattern);
      } catch (err) {
        if (err instanceof ApiError) return sendError(ctx, err.status, err.message);
        throw err;
      }
    };
  }

  private async answer(ctx: Context, w: WwwContext, db: () => Database, e: Endpoint, args: PathArgs, pattern: string): Promise<void> {
    const query: Record<string, string | string[] | undefined> = { ...(ctx.query as Query) };
    const extra: Record<string, string | string[] | undefined> = {};
    for (const p of e.params ?? []) {
      if (p in query) extra[p] = query[p];
      delete query[p];
    }
    const spec = parseResultSpec(query, e.type.fields, e.kind === 'collection');
    // The database is looked up only by endpoints that read it (the force forms come from the config).
    const r = {
      get db() {
        return db();
      },
      www: w,
      args,
      spec,
      extra,
    };
    const notFound = () => sendError(ctx, 404, `not found while getting from endpoint for ${pattern} with arguments ${JSON.stringify(args)}`);
    if (e.kind === 'raw') {
      const raw = await e.get(r);
      return raw ? sendRaw(ctx, raw) : notFound();
    }
    if (e.kind === 'item') {
      const item = await e.get(r);
      if (item === undefined) return notFound();
      return sendJson(ctx, { [e.type.plural]: [selectFields(item, spec.fields)], meta: {} });
    }
    const list = await e.get(r);
    if (list === undefined) return notFound();
    const { items, total } = applyToList(spec, list);
    sendJson(ctx, { [e.type.plural]: items, meta: { total } });
  }
}

/** Buildbot's names of its field types (data/types.py). */
function typeName(kind: Field['kind']): string {
  return kind === 'object' ? 'jsonobject' : kind;
}

/** A field's spec as Buildbot's Type.getSpec gives it. */
function fieldSpec(f: Field): Record<string, unknown> {
  const spec: Record<string, unknown> = f.kind === 'list' ? { type: 'list', of: { name: typeName(f.of ?? 'object') } } : { name: typeName(f.kind) };
  if (f.nullable) spec.can_be_null = true;
  return spec;
}

function sendRaw(ctx: Context, raw: RawResult): void {
  ctx.status = 200;
  ctx.type = `${raw.mimeType}; charset=utf-8`;
  ctx.set('Content-Disposition', `attachment; filename=${raw.filename}`);
  ctx.body = raw.raw;
}
