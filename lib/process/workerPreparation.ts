/**
 * Step 0 of a build on the slave (Buildbot's worker preparation): the connection must be up, the
 * builder's directory must exist, and the environment a command there sees is known, for the
 * logEnviron headers of the build's commands.
 *
 * Both are learnt once per SSH connection, not per build: a login's environment is fixed for the
 * connection (OpenSSH sets nothing per session without a pty), and Buildbot's worker too creates
 * the builder directories once when the master attaches, not per build. Every command's wrapper
 * creates its own workdir anyway. A new connection (after a loss) learns both again.
 */
import { SshError } from '../errors/SshError.js';
import type { Platform } from '../workers/platforms/platform.js';
import type { SshConnection } from '../workers/sshConnection.js';

/** A command printing the environment as NAME=value lines. */
export function envCommand(platform: Platform): string | string[] {
  switch (platform.shell) {
    case 'sh':
      return ['env'];
    case 'cmd':
      return 'set';
    case 'powershell':
      return 'Get-ChildItem env: | ForEach-Object { $_.Name + "=" + $_.Value }';
  }
}

/** NAME=value lines; a line without a valid `NAME=` continues the previous value (multi-line values). */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_()]*)=(.*)$/.exec(line);
    if (m) {
      env[m[1]] = m[2];
      last = m[1];
    } else if (last !== undefined && line !== '') env[last] += '\n' + line;
  }
  return env;
}

export class WorkerUnavailable extends Error {}

/** What one live connection has taught us. Promises, so concurrent builds share one probe. */
interface ConnectionFacts {
  env?: Promise<Record<string, string> | undefined>;
  builddirs: Map<string, Promise<void>>;
}

const learnt = new WeakMap<SshConnection, ConnectionFacts>();

function factsOf(conn: SshConnection): ConnectionFacts {
  let facts = learnt.get(conn);
  if (!facts) {
    const mine: ConnectionFacts = { builddirs: new Map() };
    facts = mine;
    learnt.set(conn, mine);
    // The next connection may be to a changed host: forget everything when this one ends.
    const forget = () => {
      if (learnt.get(conn) === mine) learnt.delete(conn);
    };
    conn.once('disconnected', forget);
    conn.once('closed', forget);
  }
  return facts;
}

/** `p`, with `drop` called if it fails: a failure is forgotten, so the next build tries again. */
function remember<T>(p: Promise<T>, drop: () => void): Promise<T> {
  p.catch(drop);
  return p;
}

async function readEnv(conn: SshConnection): Promise<Record<string, string> | undefined> {
  try {
    const r = await conn.runCapture({ command: envCommand(conn.platform), timeoutS: 60 });
    if (r.ended === 'connectionLost') throw new SshError(r.message, { code: 'notConnected', worker: conn.workerName });
    if (r.ended === 'exit' && r.rc === 0) return Object.freeze(parseEnv(r.stdout));
  } catch (err) {
    if (!conn.isConnected()) throw err;
  }
  return undefined;
}

/**
 * Check the connection and make sure `builddir` exists; returns the slave's environment
 * (undefined if unreadable). Only the first build of a builder on a connection runs anything.
 */
export async function prepareWorker(conn: SshConnection, builddir: string): Promise<Record<string, string> | undefined> {
  if (!conn.isConnected()) throw new WorkerUnavailable(`worker ${conn.workerName} is not connected (${conn.lostReason() ?? 'unknown'})`);
  const facts = factsOf(conn);
  let dir = facts.builddirs.get(builddir);
  if (!dir) {
    dir = remember(conn.mkdirp(builddir), () => facts.builddirs.delete(builddir));
    facts.builddirs.set(builddir, dir);
  }
  await dir;
  let env = facts.env;
  if (!env) {
    const probe = readEnv(conn);
    env = probe;
    facts.env = env;
    // An unreadable environment (or a lost connection) is asked for again by the next build.
    probe.then(
      (v) => {
        if (v === undefined && facts.env === probe) facts.env = undefined;
      },
      () => {
        if (facts.env === probe) facts.env = undefined;
      },
    );
  }
  return env;
}
