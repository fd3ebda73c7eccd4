/**
 * Types shared by the SSH layer. `SshWorkerConfig` is the part of the config's resolved
 * `WorkerConfig` this layer reads: a resolved WorkerConfig is assignable to it.
 */

/** A config `Secret` renderable; resolved through `SshConnectionOptions.secrets`. */
export interface SecretRef {
  readonly kind: 'Secret';
  readonly name: string;
}

export type PlatformName = 'posix' | 'macos' | 'windows';
export type ShellName = 'sh' | 'cmd' | 'powershell';

export interface SshWorkerConfig {
  name: string;
  host: string;
  port?: number; // 22
  user: string;
  privateKeyFile?: string;
  privateKeyPassphrase?: string | SecretRef;
  /** ssh-agent socket path, or true for $SSH_AUTH_SOCK. */
  agent?: string | true;
  /** Pinned host key fingerprint `SHA256:…`; when absent the master's known_hosts decides. */
  hostKey?: string;
  platform?: PlatformName; // 'posix'
  shell?: ShellName; // windows: 'cmd', else 'sh'
  keepaliveInterval?: number; // seconds, 15
  connectTimeout?: number; // seconds, 20
  maxSessions?: number; // the host's sshd MaxSessions, 10
}

/** Resolves a secret by name (the master's secrets providers). */
export type SecretLookup = (name: string) => string | undefined | Promise<string | undefined>;

/**
 * Environment for a command, Buildbot's semantics: a list is joined with the platform's path-list
 * separator, `${NAME}` refers to the slave's own environment, `null` removes the variable.
 */
export type CommandEnv = Record<string, string | string[] | null | undefined>;

/** Signals we know how to send to a remote process group (Buildbot's `interruptSignal` names). */
export type InterruptSignal = 'KILL' | 'TERM' | 'INT' | 'HUP' | 'QUIT';

/** How a remote command ended. */
export type CommandEnding = 'exit' | 'timeout' | 'maxTime' | 'interrupted' | 'connectionLost';

export interface RunResult {
  /** Exit code; -1 when killed by a signal or when it did not end by itself (Buildbot's rule). */
  rc: number;
  /** `SIGKILL`, … when the remote process died from a signal. */
  signal?: string;
  ended: CommandEnding;
  /** One line saying how it ended, in Buildbot's wording where Buildbot has one. */
  message: string;
  elapsedS: number;
}
