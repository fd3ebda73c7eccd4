/**
 * Who may control the master over HTTP. With `www.users` configured, control needs HTTP Basic
 * credentials of one of them (a password is given plain or as `sha256:<hex>` of it). With none, only
 * requests from this machine's loopback may control it: anyone who can reach a wider bind address
 * could otherwise start builds.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { JSONRPC_CODES, JsonRpcError } from './jsonRpcError.js';

export interface WwwUser {
  username: string;
  /** Plain text, or `sha256:<hex digest of the password>`. */
  password: string;
}

export interface Identity {
  /** The authenticated user, or undefined for an anonymous (loopback) caller. */
  username?: string;
}

const REALM = 'buildmaster';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Compares digests of equal length, so the time taken says nothing about the password. */
export function passwordMatches(stored: string, given: string): boolean {
  const m = /^sha256:([0-9a-fA-F]{64})$/.exec(stored);
  const expected = m ? Buffer.from(m[1].toLowerCase(), 'hex') : sha256(stored);
  return timingSafeEqual(expected, sha256(given));
}

function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address);
}

/** Throws a JsonRpcError (401 or 403) unless this request may control the master. */
export function authorizeControl(ctx: Context, users: readonly WwwUser[]): Identity {
  if (users.length === 0) {
    if (isLoopback(ctx.req.socket.remoteAddress)) return {};
    throw new JsonRpcError(403, JSONRPC_CODES.invalidRequest, 'control is only allowed from this machine unless www.users is configured');
  }
  const challenge = { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` };
  const creds = basicCredentials(ctx.get('authorization'));
  if (!creds) throw new JsonRpcError(401, JSONRPC_CODES.invalidRequest, 'authentication required', challenge);
  // Check every user so the time taken does not tell which names exist.
  let ok: WwwUser | undefined;
  for (const u of users) {
    const match = passwordMatches(u.password, creds.password);
    if (match && u.username === creds.username) ok = u;
  }
  if (!ok) throw new JsonRpcError(401, JSONRPC_CODES.invalidRequest, 'invalid username or password', challenge);
  return { username: ok.username };
}
