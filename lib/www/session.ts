/**
 * Login sessions: an opaque random id in an HttpOnly, SameSite=Strict cookie, and per session a CSRF
 * token the page sends back in `X-CSRF-Token`. Kept in this master's memory: a restart logs everyone
 * out, and with several masters a browser logs in to the one it talks to.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'bm_session';
/** Idle sessions end after this; each use extends it. */
export const SESSION_IDLE_MS = 12 * 3600 * 1000;
/** Oldest sessions are dropped beyond this many (a login flood must not grow memory without bound). */
const MAX_SESSIONS = 10_000;

export interface Session {
  id: string;
  username: string;
  roles: readonly string[];
  csrfToken: string;
  createdAt: number;
  lastUsed: number;
}

export class SessionStore {
  // Map order is insertion order: the first entry is the oldest created.
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly idleMs = SESSION_IDLE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  create(username: string, roles: readonly string[]): Session {
    const t = this.now();
    const s: Session = { id: randomBytes(32).toString('base64url'), username, roles: [...roles], csrfToken: randomBytes(24).toString('base64url'), createdAt: t, lastUsed: t };
    this.sessions.set(s.id, s);
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    return s;
  }

  /** The live session with this id (its idle time restarts), or undefined. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (t - s.lastUsed > this.idleMs) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastUsed = t;
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Ends every session of a user (their password or roles changed by a reconfig). */
  deleteUser(username: string): void {
    for (const [id, s] of this.sessions) if (s.username === username) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}

export function csrfMatches(session: Session, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
