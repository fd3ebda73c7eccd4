import { BuildmasterError } from './BuildmasterError.js';

export type HostKeyProblem = 'unknown' | 'changed' | 'pinnedMismatch';

/**
 * A slave host presented a host key we do not trust. Nothing runs on such a host. The message
 * names the presented fingerprint and the exact command that trusts it, so the user can fix it.
 */
export class HostKeyError extends BuildmasterError {
  readonly worker: string;
  readonly host: string;
  readonly port: number;
  readonly problem: HostKeyProblem;
  /** Presented key, as OpenSSH prints it: `SHA256:…`. */
  readonly fingerprint: string;
  readonly keyType: string;
  /** `buildmaster trust-worker <masterdir> <worker>`, or undefined when the key is pinned in the config. */
  readonly trustCommand?: string;

  constructor(info: {
    worker: string;
    host: string;
    port: number;
    problem: HostKeyProblem;
    fingerprint: string;
    keyType: string;
    trustCommand?: string;
    knownHostsFile?: string;
    expected?: string[];
  }) {
    super(HostKeyError.describe(info), { userError: true });
    this.worker = info.worker;
    this.host = info.host;
    this.port = info.port;
    this.problem = info.problem;
    this.fingerprint = info.fingerprint;
    this.keyType = info.keyType;
    this.trustCommand = info.trustCommand;
  }

  private static describe(info: ConstructorParameters<typeof HostKeyError>[0]): string {
    const where = info.port === 22 ? info.host : `[${info.host}]:${info.port}`;
    const presented = `${info.keyType} key ${info.fingerprint}`;
    switch (info.problem) {
      case 'unknown':
        return (
          `worker ${info.worker}: host ${where} presented an unknown ${presented}` +
          (info.knownHostsFile ? ` (not in ${info.knownHostsFile})` : '') +
          `; refusing to connect. If that is the right key, trust it with: ${info.trustCommand}`
        );
      case 'changed':
        return (
          `worker ${info.worker}: HOST KEY CHANGED for ${where}: it presented ${presented}, ` +
          `known_hosts has ${(info.expected ?? []).join(', ')}; refusing to connect (someone may be ` +
          `intercepting the connection). If the host was reinstalled, trust the new key with: ${info.trustCommand}`
        );
      case 'pinnedMismatch':
        return (
          `worker ${info.worker}: host ${where} presented ${presented}, but the config pins hostKey ` +
          `${(info.expected ?? []).join(', ')}; refusing to connect. If the host was reinstalled, ` +
          `update hostKey in the config to ${info.fingerprint}`
        );
    }
  }
}
