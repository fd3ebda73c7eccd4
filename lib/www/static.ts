/**
 * The web UI: the single-page app bundled at install (www/ → dist/www/, see www/build.mjs), served
 * from the master's web server after the API and the routes. Hashed files under /assets/ are cached
 * for a year (their name changes with their content); index.html is answered for every app route
 * and always revalidated, so a new install is picked up on the next page load. GET /config is
 * Buildbot's frontend config (title, and `user`: who the request is logged in as); the app asks
 * GET /auth/me for its roles.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Middleware, Next } from 'koa';
import { identityOf, type AuthService } from './auth.js';
import type { WwwContext } from './context.js';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** Paths that belong to the server, never to the app (a 404 there stays a 404). */
const SERVER_PREFIXES = ['/api/', '/auth/', '/sse', '/change_hook', '/assets/'];

function isOurPackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'buildmaster';
  } catch {
    return false;
  }
}

/**
 * dist/www of this package, found from this module whether it runs from lib/www (tsx, a checkout)
 * or dist/lib/www (installed).
 */
export function defaultUiDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 4; i++) {
    if (isOurPackage(dir)) return join(dir, 'dist', 'www');
    dir = dirname(dir);
  }
  return join(here, '..', '..', 'www');
}

/** Buildbot's `user` in /config: who the auth middleware found (lib/www/auth.ts), or anonymous. */
function userOf(ctx: Context): { anonymous: true } | { username: string; roles: string[] } {
  const who = identityOf(ctx);
  return who.username !== undefined ? { username: who.username, roles: [...who.roles] } : { anonymous: true };
}

/** Whether anyone can log in: users or tokens configured (otherwise only this machine controls). */
function loginConfigured(ctx: Context): boolean {
  return (ctx.state.auth as AuthService | undefined)?.configured ?? false;
}

function isAppRoute(path: string): boolean {
  if (SERVER_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) return false;
  if (path === '/config') return false;
  // A last segment with a dot is a file, not a page.
  return !/\.[A-Za-z0-9]+$/.test(path);
}

export function serveUi(w: WwwContext, opts: { dir?: string } = {}): Middleware {
  const dir = opts.dir ?? defaultUiDir();
  let index: { text: string; mtimeMs: number } | undefined;

  async function indexHtml(): Promise<string | undefined> {
    const file = join(dir, 'index.html');
    const st = await stat(file).catch(() => undefined);
    if (!st) return undefined;
    if (!index || index.mtimeMs !== st.mtimeMs) index = { text: await readFile(file, 'utf8'), mtimeMs: st.mtimeMs };
    return index.text;
  }

  return async (ctx: Context, next: Next) => {
    await next();
    if (ctx.body !== undefined || ctx.status !== 404) return;
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return;

    if (ctx.path === '/config') {
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = {
        title: w.master.config.title ?? 'buildmaster',
        buildbotURL: `${ctx.protocol}://${ctx.host}/`,
        user: userOf(ctx),
        auth: { loginConfigured: loginConfigured(ctx) },
      };
      return;
    }

    if (ctx.path.startsWith('/assets/')) {
      const rel = normalize(decodeURIComponent(ctx.path.slice('/assets/'.length)));
      if (rel.startsWith('..') || rel.includes(`${sep}..`) || rel.startsWith(sep)) return;
      const file = join(dir, 'assets', rel);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) return;
      ctx.type = TYPES[/\.[^.]+$/.exec(file)?.[0] ?? ''] ?? 'application/octet-stream';
      ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
      ctx.body = ctx.method === 'HEAD' ? '' : createReadStream(file);
      ctx.length = st.size;
      return;
    }

    if (!isAppRoute(ctx.path)) return;
    const html = await indexHtml();
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'text/html; charset=utf-8';
    if (html === undefined) {
      ctx.status = 503;
      ctx.body = '<!doctype html><title>buildmaster</title><p>The web UI is not built: run <code>npm run build</code> in the buildmaster package. The REST API is at <a href="/api/v2">/api/v2</a>.</p>\n';
      return;
    }
    ctx.body = html;
  };
}
