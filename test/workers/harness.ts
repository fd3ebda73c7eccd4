/** Shared set-up for the SSH layer's tests: a real sshd, a known_hosts trusting it, connections. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshConnection, type SshConnectionOptions } from '../../lib/workers/sshConnection.js';
import type { SshWorkerConfig } from '../../lib/workers/types.js';
import type { Sshd, SshdUser } from '../support/sshd.js';

export interface Harness {
  masterDir: string;
  knownHostsFile: string;
  connections: SshConnection[];
  /** A connection as the build layer makes it; closed in cleanup(). */
  connection(sshd: Sshd, user?: SshdUser, config?: Partial<SshWorkerConfig>, opts?: Partial<SshConnectionOptions>): SshConnection;
  trust(sshd: Sshd): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeHarness(): Promise<Harness> {
  const masterDir = await mkdtemp(join(tmpdir(), 'bm-master-'));
  const knownHostsFile = join(masterDir, 'known_hosts');
  const connections: SshConnection[] = [];
  return {
    masterDir,
    knownHostsFile,
    connections,
    connection(sshd, user = sshd.users[0], config = {}, opts = {}) {
      const conn = new SshConnection(
        {
          name: 'w1',
          host: sshd.host,
          port: sshd.port,
          user: user.name,
          privateKeyFile: user.privateKeyPath,
          maxSessions: 10,
          ...config,
        },
        { knownHostsFile, backoff: { baseMs: 50, maxMs: 500 }, ...opts },
      );
      connections.push(conn);
      return conn;
    },
    async trust(sshd) {
      const [type, b64] = sshd.hostPublicKeyLine.split(' ');
      await writeFile(knownHostsFile, `[${sshd.host}]:${sshd.port} ${type} ${b64}\n`);
    },
    async cleanup() {
      await Promise.all(connections.splice(0).map((c) => c.close()));
      await rm(masterDir, { recursive: true, force: true });
    },
  };
}

/** Wait for an event with a deadline, so a broken test fails instead of hanging. */
export async function waitFor<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string, ms = 15_000): Promise<T> {
  return (await once(emitter, event, { signal: AbortSignal.timeout(ms) })) as T;
}

/** Poll (for remote state we cannot be told about, e.g. processes left running). */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
