/**
 * Password and token hashes for www.auth: `scrypt$<N>$<r>$<p>$<salt b64>$<key b64>` (what
 * `buildmaster hash-password` prints). Also read: `sha256:<hex>` (session 1's www.users) and plain
 * text (accepted, but checkconfig and the master warn). Comparisons take the same time whatever
 * matches, so timing tells nothing about the secret.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const PARAMS = { N: 1 << 14, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** OpenSSL refuses N·r·128 above its default 32 MiB without a bigger maxmem. */
const MAX_MEM = 64 * 1024 * 1024;

export type StoredSecretKind = 'scrypt' | 'sha256' | 'plain';

export function storedKind(stored: string): StoredSecretKind {
  if (stored.startsWith('scrypt$')) return 'scrypt';
  if (/^sha256:[0-9a-fA-F]{64}$/.test(stored)) return 'sha256';
  return 'plain';
}

function scryptAsync(secret: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(secret, salt, KEY_BYTES, { ...PARAMS, maxmem: MAX_MEM });
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseScrypt(stored: string): ScryptHash | undefined {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounds keep a hostile config from costing the master minutes per login.
  if (N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  return { N, r, p, salt: Buffer.from(m[4]!, 'base64'), key: Buffer.from(m[5]!, 'base64') };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Plain and sha256 stored values, compared as digests of equal length. */
function digestMatches(stored: string, given: string): boolean {
  const m = /^sha256:([0-9a-fA-F]{64})$/.exec(stored);
  const expected = m ? Buffer.from(m[1]!.toLowerCase(), 'hex') : sha256(stored);
  return timingSafeEqual(expected, sha256(given));
}

/** Does `given` match the stored hash (or plain value)? Async: scrypt runs off the event loop. */
export async function verifyPassword(stored: string, given: string): Promise<boolean> {
  if (storedKind(stored) !== 'scrypt') return digestMatches(stored, given);
  const h = parseScrypt(stored);
  if (!h) return false;
  const key = await scryptAsync(given, h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: MAX_MEM });
  return timingSafeEqual(key, h.key);
}

/** The same, blocking: for the few callers that cannot wait (a Try or hook request's Basic auth). */
export function verifyPasswordSync(stored: string, given: string): boolean {
  if (storedKind(stored) !== 'scrypt') return digestMatches(stored, given);
  const h = parseScrypt(stored);
  if (!h) return false;
  return timingSafeEqual(scryptSync(given, h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: MAX_MEM }), h.key);
}

/** A fresh API token: 32 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}
