/** The SSH layer's public surface (for lib/process, lib/steps, lib/cli). */
export { SshConnection } from './sshConnection.js';
export type { CapturedResult, ConnectionState, SshConnectionEvents, SshConnectionOptions } from './sshConnection.js';
export type { RunOptions } from './remoteCommand.js';
export { SftpSession } from './sftp.js';
export {
  KNOWN_HOSTS_FILE,
  addKnownHost,
  fetchHostKey,
  fingerprintSha256,
  knownHostsPath,
  readKnownHosts,
  trustHostKey,
  type PresentedHostKey,
} from './knownHosts.js';
export { platformFor, type Platform } from './platforms/index.js';
export type {
  CommandEnding,
  CommandEnv,
  InterruptSignal,
  PlatformName,
  RunResult,
  SecretLookup,
  SecretRef,
  ShellName,
  SshWorkerConfig,
} from './types.js';
