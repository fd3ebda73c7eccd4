/**
 * The shape of master.config.ts as the user writes it (`MasterConfig`). Buildbot's vocabulary,
 * typed; defaults are in defaults.ts and the resolved form in resolved.ts.
 */
import type { ChangeSource } from './changeSources.js';
import type { Duration } from './duration.js';
import type { Lock, LockAccess } from './locks.js';
import type { Renderable, Secret } from './renderables.js';
import type { Scheduler } from './schedulers.js';
import type { Step } from './steps.js';

// Handles passed to the builder callbacks; typed precisely once lib/process exists.
export type MasterHandle = any;
export type BuilderHandle = any;
export type WorkerHandle = any;
export type BuildRequestHandle = any;

/** Buildbot's collapseRequests(master, builder, req1, req2): may req2 be merged into req1? */
export type CollapseRequestsFn = (
  master: MasterHandle,
  builder: BuilderHandle,
  req1: BuildRequestHandle,
  req2: BuildRequestHandle,
) => boolean | Promise<boolean>;
/** Buildbot's nextWorker(builder, workers, buildrequest): the worker to use, or null to wait. */
export type NextWorkerFn = (
  builder: BuilderHandle,
  workers: WorkerHandle[],
  request: BuildRequestHandle,
) => WorkerHandle | null | Promise<WorkerHandle | null>;
/** Buildbot's nextBuild(builder, requests): the request to build next. */
export type NextBuildFn = (
  builder: BuilderHandle,
  requests: BuildRequestHandle[],
) => BuildRequestHandle | null | Promise<BuildRequestHandle | null>;
/** Buildbot's canStartBuild(builder, worker, request). */
export type CanStartBuildFn = (
  builder: BuilderHandle,
  worker: WorkerHandle,
  request: BuildRequestHandle,
) => boolean | Promise<boolean>;
/** Buildbot's prioritizeBuilders(master, builders): the builders in the order to serve them. */
export type PrioritizeBuildersFn = (
  master: MasterHandle,
  builders: BuilderHandle[],
) => BuilderHandle[] | Promise<BuilderHandle[]>;

export type Platform = 'posix' | 'macos' | 'windows';
export type Shell = 'sh' | 'cmd' | 'powershell';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A slave host the master drives over SSH (an entry of `workers`). */
export interface WorkerOptions {
  /** An identifier (letters, digits, '_', '-'), at most 50 characters. */
  name: string;
  /** Host name or address of the slave host. */
  host: string;
  /** SSH port (default 22). */
  port?: number;
  /** SSH login (default: the user running the master, as ssh does). */
  user?: string;
  /** Private key on the master (absolute, or relative to the master directory). */
  privateKeyFile?: string;
  privateKeyPassphrase?: string | Secret;
  /** ssh-agent socket path, or true for $SSH_AUTH_SOCK. */
  agent?: string | true;
  /** Pinned host key fingerprint 'SHA256:…'; default: known_hosts in the master directory. */
  hostKey?: string;
  /** Default 'posix'. */
  platform?: Platform;
  /** Default 'cmd' on windows, else 'sh'. */
  shell?: Shell;
  /** Absolute directory on the slave host under which builders get their directories. */
  basedir: string;
  /** Builds at once on this worker (default 1). */
  maxBuilds?: number;
  env?: Record<string, string>;
  properties?: Record<string, unknown>;
  /** Seconds (default 15). */
  keepaliveInterval?: Duration;
  /** Seconds (default 20). */
  connectTimeout?: Duration;
  /** Channels at once on the connection (default 10, OpenSSH's MaxSessions). */
  maxSessions?: number;
}

/** A builder (Buildbot's util.BuilderConfig, as a plain object). */
export interface BuilderConfig {
  /** Unique; must not start with '_'. */
  name: string;
  /** Workers that may run this builder's builds. */
  workernames: string | string[];
  /** The build's steps, in order (Buildbot's factory). */
  steps: Step[];
  /** Directory on the master for this builder (default: the name, made path-safe). */
  builddir?: string;
  /** Directory on the worker, under its basedir (default builddir). */
  workerbuilddir?: string;
  tags?: string[];
  description?: string;
  properties?: Record<string, unknown>;
  /** Properties set only when nothing else sets them. */
  defaultProperties?: Record<string, unknown>;
  env?: Record<string, Renderable<string>>;
  /** Overrides the global collapseRequests for this builder. */
  collapseRequests?: boolean | CollapseRequestsFn;
  nextWorker?: NextWorkerFn;
  nextBuild?: NextBuildFn;
  canStartBuild?: CanStartBuildFn;
  locks?: (Lock | LockAccess)[];
}

export interface JanitorOptions {
  /** Delete log contents older than this (Buildbot's logHorizon). */
  logHorizon?: Duration;
  /** Delete build data older than this. */
  buildDataHorizon?: Duration;
  /** Keep only this many changes (Buildbot's changeHorizon, a count). */
  changeHorizon?: number;
  buildHorizon?: Duration;
  testResultHorizon?: Duration;
  /** Delete changes whose commit time is older than this (beside the count). */
  changeAgeHorizon?: Duration;
  /** Delete failure-signature history (occurrences, daily counts, durations, alerts) older than this. */
  signatureHorizon?: Duration;
  /** How often one master runs the janitor (default 1 h). */
  interval?: Duration;
  /** Most builds (changes, …) deleted per batch (default 500). */
  batchSize?: number;
  /** Target duration of one batch in ms, about the longest a claim waits behind it (default 25). */
  maxBatchMs?: number;
}

/** A known-issue rule: failures whose error line it matches get its title and link (docs/history.md). */
export interface KnownIssueRule {
  title: string;
  url?: string;
  /** Matched against the error line as the log printed it (a string is a regex source). */
  pattern?: RegExp | string;
  /** A signature hash (40 hex digits) or an error line whose signature is meant. */
  signature?: string;
  /** Only failures of these builders. */
  builders?: string[];
}

/** History for trending: failure signatures, known issues, duration regressions (docs/history.md). */
export interface HistoryOptions {
  /** Error lines kept per log (default 100). */
  maxErrorLines?: number;
  knownIssues?: KnownIssueRule[];
  /** Perfherder-style duration regression detection (defaults 12, 12, 7, 2). */
  regression?: { backWindow?: number; forwardWindow?: number; tThreshold?: number; minChangePercent?: number };
  /** When a test is marked intermittent (defaults: last 20 runs, at least 5, fail rate below 0.9, 2 recoveries). */
  intermittent?: { window?: number; minRuns?: number; maxFailRate?: number; minRecoveries?: number };
}

export interface SecretsOptions {
  values?: Record<string, string>;
  /** A directory (relative to the master directory) holding one file per secret. */
  dir?: string;
}

/** The master's web server (REST API, control, hooks). */
export interface WwwOptions {
  /** Interface to bind; default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8010; 0 picks a free port. */
  port?: number;
  /**
   * Users allowed to control builds (force, stop, rebuild) with HTTP Basic auth. `password` is the
   * plain password or `sha256:<hex of sha256(password)>`. With no users, control is allowed only from
   * 127.0.0.1.
   */
  users?: { username: string; password: string }[];
  /** HTTP change hooks, by dialect (Buildbot's change_hook_dialects): POST /change_hook/<dialect>. */
  changeHooks?: ChangeHooksOptions;
  /** Users, API tokens and login (docs/web.md "Authentication and roles"); `users` above is its deprecated form. */
  auth?: WwwAuthOptions;
  /** Which roles may do what: Buildbot's authz (allowRules, roleMatchers), simplified. */
  authz?: WwwAuthzOptions;
}

/** People and scripts the web server knows. Without any, only this machine may control the master. */
export interface WwwAuthOptions {
  /** `passwordHash` is what `buildmaster hash-password` prints ('scrypt$…'); a plain `password` works, with a warning. */
  users?: { username: string; passwordHash?: string; password?: string; roles?: string[] }[];
  /** For `Authorization: Bearer <token>`: the token's hash (hash-password), or the token itself (better a Secret). */
  tokens?: { name: string; tokenHash?: string; token?: string | Secret; roles?: string[] }[];
  /** Reads (the data API, live events) need a login too (default false: anonymous may read). */
  requireLogin?: boolean;
}

/**
 * Rules in order, as Buildbot's allowRules: the first whose `action` (glob: 'builds.stop', 'workers.*', '*')
 * and `builder` (glob) match decides — allowed if the user has `role`, else refused (unless `defaultDeny`
 * is false: then the next rule is asked). No rule matching: the action's default role (docs/web.md).
 */
export interface WwwAuthzOptions {
  allowRules?: { action: string; builder?: string; role: string; defaultDeny?: boolean }[];
  /** Buildbot's RolesFromUsername: these users get these roles too. */
  roleMatchers?: { roles: string[]; usernames: string[] }[];
}

/**
 * A hook with no credentials configured (base without `auth`, github without `secret`) accepts
 * requests from this machine's loopback only.
 */
export interface ChangeHooksOptions {
  /** Buildbot's base dialect (form fields or JSON; what `buildmaster sendchange` posts). */
  base?: true | { auth?: { username: string; password: string } };
  github?: {
    /** Checks X-Hub-Signature-256 (HMAC-SHA256 of the body); every request must be signed. */
    secret?: string | Secret;
    /** Require a signature (needs `secret`, which already requires one here). */
    strict?: boolean;
    /** Also accept the older X-Hub-Signature (HMAC-SHA1) when a request has no SHA-256 signature. */
    allowSha1?: boolean;
    /** The changes' codebase: a name, or a function of the payload. */
    codebase?: string | ((payload: any) => string);
    /** Commit-message patterns that skip a push (default `\[ *skip *ci *\]`, `\[ *ci *skip *\]`). */
    skips?: (string | RegExp)[];
    /** Pull request branch `refs/pull/N/<pullrequest_ref>` (default 'merge'). */
    pullrequest_ref?: string;
  };
}

export interface MasterConfig {
  title?: string;
  titleURL?: string;
  buildbotURL?: string;
  db?: { url?: string };
  www?: WwwOptions;
  workers?: WorkerOptions[];
  builders?: BuilderConfig[];
  schedulers?: Scheduler[];
  changeSources?: ChangeSource[];
  prioritizeBuilders?: PrioritizeBuildersFn;
  collapseRequests?: boolean | CollapseRequestsFn;
  /** Global properties of every build (Buildbot's c['properties']). */
  properties?: Record<string, unknown>;
  janitor?: JanitorOptions;
  secrets?: SecretsOptions;
  history?: HistoryOptions;
  multiMaster?: { heartbeatInterval?: Duration; deadMasterTimeout?: Duration };
  /** How a stop treats running builds (docs/operations.md). */
  shutdown?: {
    /** How long a stop (SIGTERM, `buildmaster stop`) lets running builds finish before ending them RETRY (default 30 s). */
    buildBound?: Duration;
  };
  logLevel?: LogLevel;
}

/** The identity: gives `export default defineConfig({...})` its type checking and completion. */
export function defineConfig(config: MasterConfig): MasterConfig {
  return config;
}
