/**
 * What an identity may do: Buildbot's Authz (www/authz/authz.py) with its vocabulary, simplified.
 * Actions are named `<resource>.<method>` as the JSON-RPC call that does them ('builds.stop',
 * 'workers.pause', 'forceschedulers.force'), plus 'try', 'ingest' and 'classify'. `allowRules` are
 * asked in order, as Buildbot's assertUserAllowed: the first whose action and builder globs match
 * allows the call if the identity has its role; if not, it refuses — or, with defaultDeny false,
 * lets the next rule decide. Where no rule decides we differ from Buildbot (which then allows): the
 * action's default role is needed (DEFAULT_ROLES), and 'admin' may do everything.
 */
import type { ResolvedWwwAuthz } from '../config/resolved.js';

export const ADMIN_ROLE = 'admin';

export const CONTROL_ACTIONS = [
  'forceschedulers.force',
  'builds.stop',
  'builds.rebuild',
  'buildrequests.cancel',
  'workers.stop',
  'workers.pause',
  'workers.unpause',
  'workers.kill',
] as const;

export type Action = (typeof CONTROL_ACTIONS)[number] | 'try' | 'ingest' | 'classify';

/** The role an action needs when no rule says otherwise. */
export function defaultRole(action: string): string {
  if (action === 'try' || action === 'ingest' || action === 'classify') return action;
  return 'control';
}

/** Who is asking. `local` is the loopback caller of a master with no users or tokens configured. */
export interface Identity {
  via: 'anonymous' | 'local' | 'session' | 'basic' | 'token';
  /** The user name, or the token's name; none for anonymous and local callers. */
  username?: string;
  roles: readonly string[];
}

export const ANONYMOUS: Identity = Object.freeze({ via: 'anonymous', roles: Object.freeze([]) as readonly string[] });

export type Decision = { allowed: true } | { allowed: false; status: 401 | 403; message: string };

/** fnmatch, as Buildbot's default stringsMatcher: `*` any run, `?` one character. */
export function globMatches(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(value);
}

export class Authz {
  private readonly rules: ResolvedWwwAuthz['allowRules'];
  private readonly matchers: ResolvedWwwAuthz['roleMatchers'];

  constructor(config?: ResolvedWwwAuthz) {
    this.rules = config?.allowRules ?? [];
    this.matchers = config?.roleMatchers ?? [];
  }

  /** The identity's own roles and those roleMatchers give its user name. */
  rolesOf(who: Identity): Set<string> {
    const roles = new Set(who.roles);
    if (who.username !== undefined && who.via !== 'token') {
      for (const m of this.matchers) if (m.usernames.includes(who.username)) for (const r of m.roles) roles.add(r);
    }
    return roles;
  }

  check(who: Identity, action: Action | string, target: { builder?: string } = {}): Decision {
    const roles = this.rolesOf(who);
    const has = (role: string) => [...roles].some((r) => globMatches(role, r)) || roles.has(ADMIN_ROLE);
    const refuse = (role: string): Decision =>
      who.via === 'anonymous'
        ? { allowed: false, status: 401, message: 'authentication required' }
        : { allowed: false, status: 403, message: `you need to have role '${role}'` };
    for (const rule of this.rules) {
      if (!globMatches(rule.action, action)) continue;
      // A rule about a builder says nothing of calls that concern none.
      if (rule.builder !== undefined && (target.builder === undefined || !globMatches(rule.builder, target.builder))) continue;
      if (has(rule.role)) return { allowed: true };
      if (rule.defaultDeny) return refuse(rule.role);
    }
    const role = defaultRole(action);
    return has(role) ? { allowed: true } : refuse(role);
  }
}
