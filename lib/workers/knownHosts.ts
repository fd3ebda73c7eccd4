import { createHash, createHmac } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Client } from 'ssh2';
import { SshError } from '../errors/SshError.js';

/**
 * The master's known_hosts file (OpenSSH format, in the master directory): which host keys we
 * trust. Plain `host`, `[host]:port`, comma lists, `*`/`?` wildcards, `!` negation, hashed
 * (`|1|salt|hash`) names and the `@revoked` marker are understood, so a file copied from
 * ~/.ssh/known_hosts works. We write plain `[host]:port keytype base64` lines.
 */

export const KNOWN_HOSTS_FILE = 'known_hosts';

export function knownHostsPath(masterDir: string): string {
  return join(masterDir, KNOWN_HOSTS_FILE);
}

export interface HostKey {
  keyType: string;
  /** The key blob as sent in the SSH handshake. */
  key: Buffer;
  fingerprint: string;
}

export interface PresentedHostKey extends HostKey {
  host: string;
  port: number;
  /** The line to append to known_hosts. */
  line: string;
}

/** `SHA256:<base64 without padding>`, as `ssh-keygen -l` and ssh print it. */
export function fingerprintSha256(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** Accepts `SHA256:abc`, with or without base64 padding. */
export function normalizeFingerprint(fp: string): string {
  const m = /^SHA256:([A-Za-z0-9+/]+)=*$/.exec(fp.trim());
  if (!m) throw new TypeError(`not a SHA256 host key fingerprint: ${JSON.stringify(fp)} (expected SHA256:…)`);
  return 'SHA256:' + m[1];
}

/** The key type is the first string inside the blob. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

/** known_hosts host field: bare host for port 22, `[host]:port` otherwise. */
export function hostField(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function knownHostsLine(host: string, port: number, key: Buffer): string {
  return `${hostField(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  hosts: string; // the raw host field
  keyType: string;
  key: Buffer;
  lineNo: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    if (fields.length < 3) return;
    entries.push({ marker, hosts: fields[0], keyType: fields[1], key: Buffer.from(fields[2], 'base64'), lineNo: i + 1 });
  });
  return entries;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$',
    'i',
  );
  return re.test(name);
}

/** OpenSSH's rules: any positive pattern matches and no negated one does. */
export function hostMatches(hostsField: string, host: string, port: number): boolean {
  const name = hostField(host, port);
  if (hostsField.startsWith('|1|')) {
    const [, , salt, hash] = hostsField.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pat of hostsField.split(',')) {
    if (pat.startsWith('!')) {
      if (wildcardMatch(pat.slice(1), name)) return false;
    } else if (wildcardMatch(pat, name)) {
      matched = true;
    }
  }
  return matched;
}

export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The trusted and revoked keys for host:port. */
export function keysFor(entries: KnownHostEntry[], host: string, port: number): { trusted: HostKey[]; revoked: Buffer[] } {
  const trusted: HostKey[] = [];
  const revoked: Buffer[] = [];
  for (const e of entries) {
    if (e.marker === 'cert-authority' || !hostMatches(e.hosts, host, port)) continue;
    if (e.marker === 'revoked') revoked.push(e.key);
    else trusted.push({ keyType: e.keyType, key: e.key, fingerprint: fingerprintSha256(e.key) });
  }
  return { trusted, revoked };
}

export type HostKeyVerdict =
  | { ok: true }
  | { ok: false; problem: 'unknown' | 'changed' | 'pinnedMismatch'; expected: string[] };

/**
 * Decide about a presented key. With a pinned fingerprint only the pin counts. Otherwise a known
 * key of the same type that differs is "changed", no key of that type is "unknown" (OpenSSH
 * would say the same; we also steer negotiation towards the known types, see `hostKeyAlgorithms`).
 */
export function judgeHostKey(
  presented: Buffer,
  known: { trusted: HostKey[]; revoked: Buffer[] },
  pinned?: string,
): HostKeyVerdict {
  const fp = fingerprintSha256(presented);
  if (pinned !== undefined) {
    const want = normalizeFingerprint(pinned);
    return fp === want ? { ok: true } : { ok: false, problem: 'pinnedMismatch', expected: [want] };
  }
  if (known.revoked.some((k) => k.equals(presented))) return { ok: false, problem: 'changed', expected: ['(revoked)'] };
  if (known.trusted.some((k) => k.key.equals(presented))) return { ok: true };
  const type = keyTypeOf(presented);
  const sameType = known.trusted.filter((k) => k.keyType === type);
  if (sameType.length > 0) return { ok: false, problem: 'changed', expected: sameType.map((k) => `${k.keyType} ${k.fingerprint}`) };
  return { ok: false, problem: 'unknown', expected: known.trusted.map((k) => `${k.keyType} ${k.fingerprint}`) };
}

const ALGOS_FOR_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Host key algorithms to offer so the server shows the key type we already know (as OpenSSH does). */
export function hostKeyAlgorithms(trusted: HostKey[]): string[] | undefined {
  const algos = [...new Set(trusted.flatMap((k) => ALGOS_FOR_TYPE[k.keyType] ?? []))];
  return algos.length > 0 ? algos : undefined;
}

/**
 * Add (or replace, for a reinstalled host) the key of host:port. Other hosts' lines are kept
 * as they are; an entry for this host with the same key type is dropped. Written atomically.
 */
export async function addKnownHost(file: string, host: string, port: number, key: Buffer): Promise<{ replaced: number }> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const type = keyTypeOf(key);
  const drop = new Set(
    parseKnownHosts(text)
      .filter((e) => !e.marker && e.keyType === type && e.hosts === hostField(host, port))
      .map((e) => e.lineNo),
  );
  const kept = text.split(/\r?\n/).filter((l, i) => !drop.has(i + 1) && l !== '');
  kept.push(knownHostsLine(host, port, key));
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, kept.join('\n') + '\n', { mode: 0o644 });
  await rename(tmp, file);
  return { replaced: drop.size };
}

/**
 * Connect only far enough to see the host key, and return it (for `buildmaster trust-worker`).
 * No authentication happens: we refuse the key ourselves once we have it.
 */
export function fetchHostKey(opts: {
  host: string;
  port?: number;
  connectTimeoutMs?: number;
  /** Prefer this key type (e.g. the one already in known_hosts). */
  algorithms?: string[];
}): Promise<PresentedHostKey> {
  const port = opts.port ?? 22;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let seen: Buffer | undefined;
    const finish = () => {
      client.removeAllListeners();
      client.on('error', () => {});
      client.end();
      if (seen) {
        resolve({
          host: opts.host,
          port,
          keyType: keyTypeOf(seen),
          key: seen,
          fingerprint: fingerprintSha256(seen),
          line: knownHostsLine(opts.host, port, seen),
        });
      }
    };
    client.on('error', (err) => {
      if (seen) return finish();
      client.removeAllListeners();
      reject(new SshError(`could not read the host key of ${hostField(opts.host, port)}: ${err.message}`, {
        code: 'connect',
        host: opts.host,
        cause: err,
      }));
    });
    client.on('close', () => {
      if (seen) finish();
    });
    client.connect({
      host: opts.host,
      port,
      username: 'buildmaster-host-key-probe',
      readyTimeout: opts.connectTimeoutMs ?? 20_000,
      algorithms: opts.algorithms ? { serverHostKey: opts.algorithms as never } : undefined,
      hostVerifier: (key: Buffer) => {
        seen = Buffer.from(key);
        return false;
      },
    });
  });
}

/**
 * What `buildmaster trust-worker DIR NAME` does once it has the worker's host and port: read the
 * key the host presents (preferring the type already on file, as a later connection will) and
 * write it to DIR/known_hosts. The caller prints `fingerprint` so the user can compare it.
 */
export async function trustHostKey(
  masterDir: string,
  worker: { host: string; port?: number; connectTimeout?: number },
): Promise<PresentedHostKey & { file: string; replaced: number }> {
  const file = knownHostsPath(masterDir);
  const port = worker.port ?? 22;
  const known = keysFor(await readKnownHosts(file), worker.host, port);
  const presented = await fetchHostKey({
    host: worker.host,
    port,
    connectTimeoutMs: (worker.connectTimeout ?? 20) * 1000,
    algorithms: hostKeyAlgorithms(known.trusted),
  });
  const { replaced } = await addKnownHost(file, worker.host, port, presented.key);
  return { ...presented, file, replaced };
}
