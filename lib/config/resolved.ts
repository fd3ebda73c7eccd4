/**
 * The config after loading: validated, every default applied, durations in seconds, references
 * checked. This is what the master, schedulers, steps and workers read. Plain data (plus the user's
 * functions and renderables); switch on `kind`.
 */
import type { ResolvedChangeFilter } from './changeFilter.js';
import type { LockMode } from './locks.js';
import type { AnyRenderable, Renderable, Secret } from './renderables.js';
import type { CodebaseDefaults, ChangeHandle } from './schedulers.js';
import type { ExtractFn, SourceStampSpec, StepHandle } from './steps.js';
import type {
  CanStartBuildFn,
  CollapseRequestsFn,
  LogLevel,
  NextBuildFn,
  NextWorkerFn,
  Platform,
  PrioritizeBuildersFn,
  Shell,
} from './types.js';

export interface WorkerConfig {
  name: string;
  host: string;
  port: number;
  user: string;
  privateKeyFile?: string;
  privateKeyPassphrase?: string | Secret;
  agent?: string | true;
  hostKey?: string;
  platform: Platform;
  shell: Shell;
  basedir: string;
  maxBuilds: number;
  env: Record<string, string>;
  properties: Record<string, unknown>;
  /** Seconds. */
  keepaliveInterval: number;
  /** Seconds. */
  connectTimeout: number;
  maxSessions: number;
}

export type ResolvedLock =
  | { kind: 'MasterLock'; name: string; maxCount: number }
  | { kind: 'WorkerLock'; name: string; maxCount: number; maxCountForWorker: Record<string, number> };

export interface ResolvedLockAccess {
  kind: 'LockAccess';
  lock: ResolvedLock;
  mode: LockMode;
  count: number;
}

/** Options every resolved step has. */
export interface ResolvedStepCommon {
  name: Renderable<string>;
  description?: Renderable<string[]>;
  descriptionDone?: Renderable<string[]>;
  descriptionSuffix?: Renderable<string[]>;
  haltOnFailure: boolean;
  flunkOnFailure: boolean;
  warnOnFailure: boolean;
  warnOnWarnings: boolean;
  flunkOnWarnings: boolean;
  alwaysRun: boolean;
  doStepIf: boolean | ((step: StepHandle) => boolean | Promise<boolean>);
  hideStepIf: boolean | ((results: number, step: StepHandle) => boolean | Promise<boolean>);
  locks: ResolvedLockAccess[];
  /** Relative to the builder's directory on the worker; unset means the build's default ('build'). */
  workdir?: Renderable<string>;
  logEncoding?: string;
}

export interface ResolvedShellFields {
  command: Renderable<string> | Renderable<string>[];
  env: Record<string, Renderable<string> | Renderable<string>[]>;
  /** Seconds without output; null = no limit. */
  timeout: number | null;
  /** Seconds in all; null = no limit. */
  maxTime: number | null;
  decodeRC: Record<number, number>;
  logEnviron: boolean;
  interruptSignal: string;
  sigtermTime?: number;
  initialStdin?: string;
  usePTY?: boolean;
  want_stdout: boolean;
  want_stderr: boolean;
  logfiles: Record<string, string>;
  lazylogfiles: boolean;
}

export type ResolvedShellCommand = { kind: 'ShellCommand' } & ResolvedStepCommon & ResolvedShellFields;
export type ResolvedCompile = { kind: 'Compile' } & ResolvedStepCommon & ResolvedShellFields;
export type ResolvedTest = { kind: 'Test' } & ResolvedStepCommon & ResolvedShellFields;
export type ResolvedSetPropertyFromCommand = { kind: 'SetPropertyFromCommand' } & ResolvedStepCommon &
  ResolvedShellFields & {
    property?: Renderable<string>;
    extract_fn?: ExtractFn;
    strip: boolean;
    includeStdout: boolean;
    includeStderr: boolean;
  };

export type ResolvedGit = { kind: 'Git' } & ResolvedStepCommon & {
  repourl: Renderable<string>;
  branch: Renderable<string>;
  mode: 'incremental' | 'full';
  method?: 'clean' | 'fresh' | 'clobber' | 'copy';
  reference?: Renderable<string>;
  submodules: boolean;
  shallow: boolean | number;
  retryFetch: boolean;
  clobberOnFailure: boolean;
  alwaysUseLatest: boolean;
  codebase: string;
  env: Record<string, Renderable<string>>;
  /** Seconds without output. */
  timeout: number;
  logEnviron: boolean;
  progress: boolean;
  retry?: [number, number];
  config: Record<string, string>;
  origin?: string;
  sshPrivateKey?: Renderable<string>;
  sshHostKey?: Renderable<string>;
  sshKnownHosts?: Renderable<string>;
  workdir: Renderable<string>;
};

interface TransferFields {
  maxsize?: number;
  blocksize: number;
}

export type ResolvedFileUpload = { kind: 'FileUpload' } & ResolvedStepCommon & TransferFields & {
  workersrc: Renderable<string>;
  masterdest: Renderable<string>;
  mode?: number;
  keepstamp: boolean;
  url?: Renderable<string>;
  urlText?: Renderable<string>;
};

export type ResolvedFileDownload = { kind: 'FileDownload' } & ResolvedStepCommon & TransferFields & {
  mastersrc: Renderable<string>;
  workerdest: Renderable<string>;
  mode?: number;
};

export type ResolvedDirectoryUpload = { kind: 'DirectoryUpload' } & ResolvedStepCommon & TransferFields & {
  workersrc: Renderable<string>;
  masterdest: Renderable<string>;
  compress?: 'gz' | 'bz2';
  url?: Renderable<string>;
  urlText?: Renderable<string>;
};

export type ResolvedTestResults = { kind: 'TestResults' } & ResolvedStepCommon & {
  /** Globs, relative to the workdir. */
  junit: Renderable<string>[];
  tap: Renderable<string>[];
  allowEmptyResults: boolean;
  maxsize?: number;
};

export type ResolvedTrigger = { kind: 'Trigger' } & ResolvedStepCommon & {
  schedulerNames: Renderable<string>[];
  unimportantSchedulerNames: string[];
  sourceStamps: SourceStampSpec[];
  updateSourceStamp: boolean;
  alwaysUseLatest: boolean;
  waitForFinish: boolean;
  /** set_properties plus copy_properties (each copied as a Property of the same name), as Buildbot. */
  set_properties: Record<string, unknown>;
  parent_relationship: string;
};

export type ResolvedStep =
  | ResolvedShellCommand
  | ResolvedCompile
  | ResolvedTest
  | ResolvedSetPropertyFromCommand
  | ResolvedGit
  | ResolvedFileUpload
  | ResolvedFileDownload
  | ResolvedDirectoryUpload
  | ResolvedTestResults
  | ResolvedTrigger;

export interface ResolvedBuilder {
  name: string;
  workernames: string[];
  steps: ResolvedStep[];
  builddir: string;
  workerbuilddir: string;
  tags: string[];
  description?: string;
  properties: Record<string, unknown>;
  defaultProperties: Record<string, unknown>;
  env: Record<string, Renderable<string>>;
  /** Unset: the global collapseRequests applies. */
  collapseRequests?: boolean | CollapseRequestsFn;
  nextWorker?: NextWorkerFn;
  nextBuild?: NextBuildFn;
  canStartBuild?: CanStartBuildFn;
  locks: ResolvedLockAccess[];
}

interface SchedulerCommon {
  name: string;
  builderNames: Renderable<string>[];
  properties: Record<string, unknown>;
  codebases: Record<string, CodebaseDefaults>;
}

interface ChangeFields {
  /** From change_filter, or from branch/branches/categories; null: every change. */
  change_filter: ResolvedChangeFilter | null;
  fileIsImportant?: (change: ChangeHandle) => boolean;
  onlyImportant: boolean;
  createAbsoluteSourceStamps: boolean;
  /** With %(name)s and %(classname)s already substituted. */
  reason: string;
}

export type ResolvedSingleBranchScheduler = { kind: 'SingleBranchScheduler' } & SchedulerCommon & ChangeFields & {
  /** Seconds; null: a buildset per important change. */
  treeStableTimer: number | null;
};
export type ResolvedAnyBranchScheduler = { kind: 'AnyBranchScheduler' } & SchedulerCommon & ChangeFields & {
  treeStableTimer: number | null;
};

interface TimedFields extends ChangeFields {
  onlyIfChanged: boolean;
  /** undefined: not given (Buildbot's NoBranch); null: the default branch. */
  branch?: string | null;
}

export type ResolvedPeriodic = { kind: 'Periodic' } & SchedulerCommon & TimedFields & { periodicBuildTimer: number };
/** `cron` is a standard 5-field expression (0 = Sunday) built from Buildbot's fields or given as is. */
export type ResolvedNightly = { kind: 'Nightly' } & SchedulerCommon & TimedFields & { cron: string; timezone?: string };
export type ResolvedNightlyTriggerable = { kind: 'NightlyTriggerable' } & SchedulerCommon &
  TimedFields & { cron: string; timezone?: string };
export type ResolvedTriggerable = { kind: 'Triggerable' } & SchedulerCommon & { reason?: string };
export type ResolvedDependent = { kind: 'Dependent' } & SchedulerCommon & { upstream: string[] };

export interface ResolvedForceParameter {
  kind: string;
  name: string;
  /** The form field name: `name`, or `<codebase>_<name>` inside a CodebaseParameter (Buildbot's fullName). */
  fullName: string;
  label: string;
  tablabel: string;
  default: unknown;
  required: boolean;
  multiple: boolean;
  regex?: RegExp;
  hide: boolean;
  maxsize?: number;
  autopopulate?: Record<string, Record<string, unknown>>;
  /** Kind-specific: size, cols, rows, choices, strict, need_email. */
  size?: number;
  cols?: number;
  rows?: number;
  choices?: string[];
  strict?: boolean;
  need_email?: boolean;
}

export interface ResolvedCodebaseParameter {
  kind: 'CodebaseParameter';
  codebase: string;
  name: string;
  label: string;
  hide: boolean;
  /** branch, project, repository, revision (sorted, those not disabled); FixedParameter for a string. */
  fields: ResolvedForceParameter[];
}

export type ResolvedForceScheduler = { kind: 'ForceScheduler' } & SchedulerCommon & {
  username: ResolvedForceParameter;
  reason: ResolvedForceParameter;
  reasonString: string;
  buttonName: string;
  label: string;
  codebaseParameters: ResolvedCodebaseParameter[];
  /** The extra form fields (Buildbot's `properties` argument). */
  forceProperties: ResolvedForceParameter[];
};

export type ResolvedTry = { kind: 'Try' } & SchedulerCommon & {
  port?: number;
  userpass: [string, Renderable<string>][];
  token?: Renderable<string> | AnyRenderable;
};

export type ResolvedScheduler =
  | ResolvedSingleBranchScheduler
  | ResolvedAnyBranchScheduler
  | ResolvedPeriodic
  | ResolvedNightly
  | ResolvedNightlyTriggerable
  | ResolvedTriggerable
  | ResolvedDependent
  | ResolvedForceScheduler
  | ResolvedTry;

interface PollerFields {
  name: string;
  repourl: string;
  /** Seconds. */
  pollInterval: number;
  pollAtLaunch: boolean;
  pollRandomDelayMin: number;
  pollRandomDelayMax: number;
  category?: string | ((change: ChangeHandle) => string);
  project: string;
  usetimestamps: boolean;
  /** Absolute (relative paths are taken from the master directory). */
  workdir: string;
  encoding: string;
}

export type ResolvedGitPoller = { kind: 'GitPoller' } & PollerFields & {
  branches: string[] | true | ((ref: string) => boolean);
  only_tags: boolean;
  buildPushesWithNoCommits: boolean;
  gitbin: string;
  sshPrivateKey?: string;
  sshHostKey?: string;
  sshKnownHosts?: string;
};

export type ResolvedHgPoller = { kind: 'HgPoller' } & PollerFields & {
  branches: string[];
  bookmarks: string[];
  hgbin: string;
  revlink?: (branch: string, revision: string) => string;
};

export type ResolvedChangeSource = ResolvedGitPoller | ResolvedHgPoller;

export interface ResolvedGithubHook {
  secret?: string | Secret;
  strict: boolean;
  allowSha1: boolean;
  codebase?: string | ((payload: any) => string);
  skips: RegExp[];
  pullrequest_ref: string;
}

/** Only the dialects configured are served. */
export interface ResolvedChangeHooks {
  base?: { auth?: { username: string; password: string } };
  github?: ResolvedGithubHook;
}

export interface ResolvedWwwAuth {
  /** `passwordHash` is 'scrypt$…' (or 'sha256:…'); a plain password is kept as `password`. */
  users: { username: string; passwordHash?: string; password?: string; roles: string[] }[];
  tokens: { name: string; tokenHash?: string; token?: string | Secret; roles: string[] }[];
  requireLogin: boolean;
}

export interface ResolvedWwwAuthz {
  allowRules: { action: string; builder?: string; role: string; defaultDeny: boolean }[];
  roleMatchers: { roles: string[]; usernames: string[] }[];
}

export interface ResolvedConfig {
  /** The master directory (the config file's directory): relative paths are taken from it. */
  basedir: string;
  title: string;
  titleURL: string;
  buildbotURL: string;
  db: { url: string };
  www: {
    host: string;
    port: number;
    users: { username: string; password: string }[];
    changeHooks?: ResolvedChangeHooks;
    /** Only when configured (www.auth / www.authz). */
    auth?: ResolvedWwwAuth;
    authz?: ResolvedWwwAuthz;
  };
  workers: WorkerConfig[];
  builders: ResolvedBuilder[];
  schedulers: ResolvedScheduler[];
  changeSources: ResolvedChangeSource[];
  prioritizeBuilders?: PrioritizeBuildersFn;
  collapseRequests: boolean | CollapseRequestsFn;
  properties: Record<string, unknown>;
  /** Seconds, except changeHorizon (a count); unset: keep everything. */
  janitor: {
    logHorizon?: number;
    buildDataHorizon?: number;
    changeHorizon?: number;
    buildHorizon?: number;
    testResultHorizon?: number;
    changeAgeHorizon?: number;
    signatureHorizon?: number;
    interval?: number;
    batchSize?: number;
    maxBatchMs?: number;
  };
  /** dir is absolute. */
  secrets: { values: Record<string, string>; dir?: string };
  /** Known-issue patterns as RegExps; regression windows in builds. */
  history: {
    maxErrorLines: number;
    knownIssues: { title: string; url?: string; pattern?: RegExp; signature?: string; builders?: string[] }[];
    regression: { backWindow: number; forwardWindow: number; tThreshold: number; minChangePercent: number };
    intermittent: { window: number; minRuns: number; maxFailRate: number; minRecoveries: number };
  };
  /** Seconds. */
  multiMaster: { heartbeatInterval: number; deadMasterTimeout: number };
  /** Seconds. */
  shutdown: { buildBound: number };
  logLevel: LogLevel;
}
