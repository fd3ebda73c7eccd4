import { readFile } from 'node:fs/promises';
import type { ConnectConfig } from 'ssh2';
import { SshError } from '../errors/SshError.js';
import type { SecretLookup, SshWorkerConfig } from './types.js';

/**
 * ssh2 authentication options for a worker: its private key file (+ passphrase, plain or a
 * Secret) and/or an ssh-agent socket. Read on every connect, so a replaced key is picked up.
 */
export async function authOptions(c: SshWorkerConfig, secrets?: SecretLookup): Promise<Partial<ConnectConfig>> {
  const auth: Partial<ConnectConfig> = {};
  if (c.privateKeyFile) {
    try {
      auth.privateKey = await readFile(c.privateKeyFile);
    } catch (err) {
      throw new SshError(`worker ${c.name}: cannot read privateKeyFile ${c.privateKeyFile}: ${(err as Error).message}`, {
        code: 'key',
        worker: c.name,
        cause: err,
      });
    }
    const pp = c.privateKeyPassphrase;
    if (typeof pp === 'string') auth.passphrase = pp;
    else if (pp) {
      const value = await secrets?.(pp.name);
      if (value === undefined) {
        throw new SshError(`worker ${c.name}: secret ${pp.name} (privateKeyPassphrase) is not available`, { code: 'key', worker: c.name });
      }
      auth.passphrase = value;
    }
  }
  if (c.agent) {
    const sock = c.agent === true ? process.env.SSH_AUTH_SOCK : c.agent;
    if (!sock) throw new SshError(`worker ${c.name}: agent: true but SSH_AUTH_SOCK is not set`, { code: 'key', worker: c.name });
    auth.agent = sock;
  }
  if (!auth.privateKey && !auth.agent) {
    throw new SshError(`worker ${c.name}: no privateKeyFile and no agent to authenticate with`, { code: 'key', worker: c.name });
  }
  return auth;
}
