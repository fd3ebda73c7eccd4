/**
 * Login for browsers (docs/web.md "Authentication and roles"):
 *   POST /auth/login   {username, password} as JSON or a form → 200 {username, roles, csrfToken} and
 *                      an HttpOnly SameSite=Strict session cookie; 401 wrong; 429 + Retry-After when
 *                      this address failed too often
 *   GET|POST /auth/logout  ends the session
 *   GET /auth/me       who the request is: {username?, via, roles, csrfToken?} (the UI shows its
 *                      control buttons from `roles`)
 */
import type { Router, RouterContext } from '@koa/router';
import type { Context } from 'koa';
import { AuthError, clientAddress, identityOf, readCookie, sameHost, type AuthService } from '../auth.js';
import { SESSION_COOKIE, SESSION_IDLE_MS, type Session } from '../session.js';

const MAX_LOGIN_BODY = 16 * 1024;

async function readForm(ctx: Context): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_LOGIN_BODY) throw new AuthError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (ctx.request.is('application/json')) {
    try {
      const data: unknown = JSON.parse(text);
      if (data !== null && typeof data === 'object' && !Array.isArray(data)) return data as Record<string, unknown>;
    } catch {
      // answered below
    }
    throw new AuthError(400, 'send {"username": …, "password": …}');
  }
  if (ctx.request.is('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  throw new AuthError(400, 'send the login as application/json or a form');
}

function setSessionCookie(ctx: Context, value: string, maxAgeS: number): void {
  const secure = ctx.secure ? '; Secure' : '';
  ctx.set('Set-Cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`);
}

function json(ctx: Context, body: unknown, status = 200): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

export function registerAuthRoutes(router: Router, auth: AuthService): void {
  router.post('/auth/login', async (ctx: RouterContext) => {
    // A login posted from another site would log the victim in as the attacker.
    const origin = ctx.get('origin');
    if (origin && !sameHost(ctx, origin)) throw new AuthError(403, `cross-site login refused (Origin ${origin})`);
    const form = await readForm(ctx);
    const username = typeof form.username === 'string' ? form.username : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const address = clientAddress(ctx);
    const session: Session | undefined = await auth.login(address, username, password);
    if (!session) throw new AuthError(401, 'invalid username or password');
    auth.sessions.delete(readCookie(ctx, SESSION_COOKIE)); // a new login replaces the old session
    setSessionCookie(ctx, session.id, Math.floor(SESSION_IDLE_MS / 1000));
    json(ctx, { username: session.username, roles: session.roles, csrfToken: session.csrfToken });
  });

  const logout = (ctx: RouterContext) => {
    auth.sessions.delete(readCookie(ctx, SESSION_COOKIE));
    setSessionCookie(ctx, '', 0);
    json(ctx, { loggedOut: true });
  };
  router.get('/auth/logout', logout);
  router.post('/auth/logout', logout);

  router.get('/auth/me', (ctx: RouterContext) => {
    const who = identityOf(ctx);
    const session = ctx.state.session as Session | undefined;
    json(ctx, {
      ...(who.username !== undefined ? { username: who.username } : {}),
      via: who.via,
      roles: [...auth.authz.rolesOf(who)],
      ...(session ? { csrfToken: session.csrfToken } : {}),
    });
  });
}
