/**
 * Who is asking (docs/web.md "Authentication and roles"). Every request but the change hooks and
 * Try (which check their own credentials) gets an Identity in `ctx.state.identity`, from, in order:
 * an `Authorization: Basic` user or `Bearer` token; the session cookie of a login (POST /auth/login);
 * else anonymous — or, on a master with no users and no tokens at all, `local` (every role) for a
 * caller on this machine's loopback, as session 1 allowed. Wrong credentials are a 401 at once, and
 * count towards the per-address login limit (429). A state-changing request made with a session
 * cookie must come from our own origin (Origin, else Referer) or carry the session's X-CSRF-Token.
 * With www.auth.requireLogin, reads under /api and /sse need an identity too. What an identity may
 * do is authz.ts's business.
 */
import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { ResolvedConfig } from '../config/resolved.js';
import type { Secret } from '../config/renderables.js';
import type { SecretsLookup } from '../master/secrets.js';
import { ANONYMOUS, Authz, type Action, type Identity } from './authz.js';
import { JSONRPC_CODES, JsonRpcError } from './jsonRpcError.js';
import { storedKind, verifyPassword, verifyPasswordSync } from './passwords.js';
import { LoginRateLimiter } from './rateLimit.js';
import { SESSION_COOKIE, SessionStore, csrfMatches, type Session } from './session.js';

export type { Identity } from './authz.js';

/** A user as the Try endpoint reads them (session 1's www.users shape). */
export interface WwwUser {
  username: string;
  /** Plain text, `sha256:<hex>`, or `scrypt$…`. */
  password: string;
}

const REALM = 'buildmaster';
export const BASIC_CHALLENGE = { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` };
/** Verified credentials are remembered this long, so a script's every request does not pay for scrypt. */
const VERIFIED_TTL_MS = 5 * 60_000;
const MAX_VERIFIED = 1000;

/** Paths that authenticate their callers themselves, with their own secrets. */
const SELF_AUTHENTICATED = [/^\/change_hook(\/|$)/, /^\/api\/(v2|latest)\/try(\/|$)/];
/** Reads that requireLogin protects (the UI's static files stay public: they show the login form). */
const READ_PROTECTED = /^\/(api|sse)(\/|$)/;

/** Compares in constant time; reads plain, `sha256:<hex>` and `scrypt$…` stored values. Blocking. */
export function passwordMatches(stored: string, given: string): boolean {
  return verifyPasswordSync(stored, given);
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address);
}

/** A request relayed by a proxy on this machine (contrib/nginx): its client is elsewhere. */
function proxied(ctx: Context): boolean {
  return !!(ctx.get('x-forwarded-for') || ctx.get('forwarded') || ctx.get('x-real-ip'));
}

/**
 * The client's address, for the login limit: the socket's, or behind a proxy on this machine the
 * address that proxy appended last to X-Forwarded-For (the one hop we can trust).
 */
export function clientAddress(ctx: Context): string {
  const socket = ctx.req.socket.remoteAddress ?? '';
  const xff = ctx.get('x-forwarded-for');
  if (!isLoopback(socket) || !xff) return socket;
  return xff.split(',').at(-1)!.trim() || socket;
}

/** Is `url` (an Origin or Referer) on this server's host? The scheme is not compared: a TLS proxy in front changes it. */
export function sameHost(ctx: Context, url: string): boolean {
  try {
    return new URL(url).host === ctx.host;
  } catch {
    return false;
  }
}

/** An HTTP error the app's error middleware answers as `{"error": message}`. */
export class AuthError extends Error {
  readonly expose = true;
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

interface KnownUser {
  username: string;
  stored: string;
  roles: string[];
}

interface KnownToken {
  name: string;
  stored?: string;
  secret?: Secret;
  roles: string[];
}

function basicCredentials(header: string): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function readCookie(ctx: Context, name: string): string | undefined {
  for (const part of (ctx.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The users, tokens, sessions, login limit and authz of one web server. Given `currentConfig`, it
 * follows reconfigs: users, tokens and rules are re-read when the master's config changes, and the
 * sessions of users removed or changed (password or roles) end.
 */
export class AuthService {
  users: ReadonlyMap<string, KnownUser> = new Map();
  tokens: readonly KnownToken[] = [];
  requireLogin = false;
  authz: Authz = new Authz();
  readonly sessions: SessionStore;
  readonly limiter: LoginRateLimiter;
  private readonly verified = new Map<string, { identity: Identity; until: number }>();
  private loadedFrom: ResolvedConfig | undefined;

  constructor(
    config: ResolvedConfig,
    private readonly secrets: SecretsLookup = async () => undefined,
    private readonly opts: { sessions?: SessionStore; limiter?: LoginRateLimiter; currentConfig?: () => ResolvedConfig } = {},
  ) {
    this.sessions = opts.sessions ?? new SessionStore();
    this.limiter = opts.limiter ?? new LoginRateLimiter();
    this.load(config);
  }

  private load(config: ResolvedConfig): void {
    const users = new Map<string, KnownUser>();
    // Session 1's www.users (deprecated): they could do everything, so they are admins.
    for (const u of config.www.users ?? []) users.set(u.username, { username: u.username, stored: u.password, roles: ['admin'] });
    for (const u of config.www.auth?.users ?? []) users.set(u.username, { username: u.username, stored: (u.passwordHash ?? u.password)!, roles: [...u.roles] });
    this.users = users;
    this.tokens = (config.www.auth?.tokens ?? []).map((t) => ({
      name: t.name,
      roles: [...t.roles],
      ...(t.tokenHash !== undefined ? { stored: t.tokenHash } : typeof t.token === 'string' ? { stored: t.token } : { secret: t.token as Secret }),
    }));
    this.requireLogin = config.www.auth?.requireLogin ?? false;
    this.authz = new Authz(config.www.authz);
    this.loadedFrom = config;
  }

  /** Re-reads users, tokens and rules if the master's config is another one (a reconfig). */
  refresh(): void {
    const config = this.opts.currentConfig?.();
    if (!config || config === this.loadedFrom) return;
    const before = this.users;
    this.load(config);
    this.verified.clear();
    for (const [name, old] of before) {
      const now = this.users.get(name);
      if (!now || now.stored !== old.stored || now.roles.join('\0') !== old.roles.join('\0')) this.sessions.deleteUser(name);
    }
  }

  /** No user and no token: the master is controlled from this machine only (see `local`). */
  get configured(): boolean {
    return this.users.size > 0 || this.tokens.length > 0;
  }

  /** Problems checkconfig and the master's start should shout about. */
  warnings(config: ResolvedConfig): string[] {
    const out: string[] = [];
    if ((config.www.users ?? []).length > 0) out.push('www.users is deprecated: move them to www.auth.users with a passwordHash (buildmaster hash-password) and roles; they are admins meanwhile');
    for (const u of config.www.auth?.users ?? []) {
      if (u.password !== undefined) out.push(`www.auth.users "${u.username}" has a PLAIN-TEXT password: store a passwordHash made by \`buildmaster hash-password\` instead`);
    }
    for (const u of config.www.users ?? []) if (storedKind(u.password) === 'plain') out.push(`www.users "${u.username}" has a PLAIN-TEXT password`);
    for (const t of config.www.auth?.tokens ?? []) if (typeof t.token === 'string') out.push(`www.auth.tokens "${t.name}" is a PLAIN-TEXT token: use a tokenHash or a Secret`);
    if (!this.configured) out.push('no www.auth users or tokens: control is accepted only from this machine, without credentials');
    return out;
  }

  private remembered(key: string): Identity | undefined {
    const v = this.verified.get(key);
    if (!v) return undefined;
    if (v.until < Date.now()) {
      this.verified.delete(key);
      return undefined;
    }
    return v.identity;
  }

  private remember(key: string, identity: Identity): Identity {
    this.verified.set(key, { identity, until: Date.now() + VERIFIED_TTL_MS });
    while (this.verified.size > MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    return identity;
  }

  /** The user's identity if the password is right. */
  async checkUser(username: string, password: string, via: 'basic' | 'session' = 'basic'): Promise<Identity | undefined> {
    const key = createHash('sha256').update(`u\0${username}\0${password}`).digest('hex');
    const hit = this.remembered(key);
    if (hit) return { ...hit, via };
    const u = this.users.get(username);
    // An unknown name costs a hash too, so the time taken does not tell which names exist.
    const ok = await verifyPassword(u?.stored ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', password);
    if (!u || !ok) return undefined;
    return { ...this.remember(key, { via: 'basic', username, roles: u.roles }), via };
  }

  async checkToken(token: string): Promise<Identity | undefined> {
    const key = createHash('sha256').update(`t\0${token}`).digest('hex');
    const hit = this.remembered(key);
    if (hit) return hit;
    for (const t of this.tokens) {
      const stored = t.stored ?? (t.secret ? await this.secrets(t.secret.name) : undefined);
      if (stored !== undefined && (await verifyPassword(stored, token))) return this.remember(key, { via: 'token', username: t.name, roles: t.roles });
    }
    return undefined;
  }

  private throttle(address: string): void {
    const wait = this.limiter.retryAfterSeconds(address);
    if (wait > 0) throw new AuthError(429, 'too many failed logins; try again later', { 'Retry-After': String(wait) });
  }

  /** POST /auth/login: a new session, or undefined (the failure counted). Throws 429 when throttled. */
  async login(address: string, username: string, password: string): Promise<Session | undefined> {
    this.throttle(address);
    const who = await this.checkUser(username, password, 'session');
    if (!who) {
      this.limiter.recordFailure(address);
      return undefined;
    }
    return this.sessions.create(username, who.roles);
  }

  /** The request's identity (see the file comment); throws AuthError for wrong credentials. */
  async identify(ctx: Context): Promise<{ identity: Identity; session?: Session }> {
    const address = clientAddress(ctx);
    const header = ctx.get('authorization');
    if (header) {
      this.throttle(address);
      const basic = basicCredentials(header);
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const who = basic ? await this.checkUser(basic.username, basic.password) : bearer ? await this.checkToken(bearer[1]!) : undefined;
      if (!who) {
        this.limiter.recordFailure(address);
        throw new AuthError(401, basic ? 'invalid username or password' : bearer ? 'invalid token' : 'unsupported authorization scheme', BASIC_CHALLENGE);
      }
      return { identity: who };
    }
    const session = this.sessions.get(readCookie(ctx, SESSION_COOKIE));
    if (session) return { identity: { via: 'session', username: session.username, roles: session.roles }, session };
    if (!this.configured && isLoopback(ctx.req.socket.remoteAddress) && !proxied(ctx)) return { identity: { via: 'local', roles: ['admin'] } };
    return { identity: ANONYMOUS };
  }

  /** Koa middleware putting `identity` (and `session`) into ctx.state, enforcing CSRF and requireLogin. */
  middleware() {
    return async (ctx: Context, next: Next): Promise<void> => {
      if (SELF_AUTHENTICATED.some((re) => re.test(ctx.path))) {
        // They check their own credentials, but count failures in the same limiter (routes/try.ts).
        ctx.state.auth = this;
        return next();
      }
      this.refresh();
      const { identity, session } = await this.identify(ctx);
      ctx.state.identity = identity;
      ctx.state.session = session;
      ctx.state.auth = this;
      if (session && !['GET', 'HEAD', 'OPTIONS'].includes(ctx.method)) checkCsrf(ctx, session);
      if (this.requireLogin && identity.via === 'anonymous' && READ_PROTECTED.test(ctx.path)) {
        // No WWW-Authenticate: a browser would show its own password box instead of the UI's login.
        throw new AuthError(401, 'login required');
      }
      await next();
    };
  }
}

/**
 * A cookie is sent by the browser whoever made the page; SameSite=Strict already keeps it off
 * cross-site requests, and this check covers browsers or proxies that do not honour it.
 */
export function checkCsrf(ctx: Context, session: Session): void {
  if (csrfMatches(session, ctx.get('x-csrf-token') || undefined)) return;
  const origin = ctx.get('origin');
  if (origin) {
    if (sameHost(ctx, origin)) return;
    throw new AuthError(403, `cross-site request refused (Origin ${origin})`);
  }
  const referer = ctx.get('referer');
  if (referer && sameHost(ctx, referer)) return;
  throw new AuthError(403, 'cross-site request refused: send Origin, Referer or X-CSRF-Token');
}

/** The identity the auth middleware found (anonymous when it did not run). */
export function identityOf(ctx: Context): Identity {
  return (ctx.state.identity as Identity | undefined) ?? ANONYMOUS;
}

/**
 * Throws a JsonRpcError (401 or 403) unless this request may do `action`. The second parameter is
 * unused (session 1's users list; the AuthService in ctx.state knows them now).
 */
export function authorizeControl(ctx: Context, _users?: unknown, action: Action | string = 'forceschedulers.force', target: { builder?: string } = {}): Identity {
  const who = identityOf(ctx);
  const auth = ctx.state.auth as AuthService | undefined;
  const authz = auth?.authz ?? new Authz();
  const decision = authz.check(who, action, target);
  if (decision.allowed) return who;
  if (decision.status === 403 && auth && !auth.configured && who.via === 'anonymous') {
    throw new JsonRpcError(403, JSONRPC_CODES.invalidRequest, 'control is only allowed from this machine unless www.auth users or tokens are configured');
  }
  if (decision.status === 401 && auth && !auth.configured) {
    throw new JsonRpcError(403, JSONRPC_CODES.invalidRequest, 'control is only allowed from this machine unless www.auth users or tokens are configured');
  }
  // The UI's own requests (X-Requested-With) get no challenge: the browser would pop its password box.
  const fromUi = ctx.get('x-requested-with') === 'XMLHttpRequest';
  throw new JsonRpcError(decision.status, JSONRPC_CODES.invalidRequest, decision.message, decision.status === 401 && !fromUi ? BASIC_CHALLENGE : {});
}

/** The users the Try endpoint accepts with Basic auth: those allowed 'try'. */
export function tryUsers(auth: AuthService): WwwUser[] {
  return [...auth.users.values()]
    .filter((u) => auth.authz.check({ via: 'basic', username: u.username, roles: u.roles }, 'try').allowed)
    .map((u) => ({ username: u.username, password: u.stored }));
}

/** What checkconfig should print as warnings about www.auth (plain passwords, www.users, no users). */
export function authWarnings(config: ResolvedConfig): string[] {
  return new AuthService(config).warnings(config);
}
