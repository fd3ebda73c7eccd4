/**
 * Every default the loader applies to a master.config.ts, in one place (Buildbot 3.7's values where
 * Buildbot has the option). The validator and docs/configuration.md both follow this module.
 */
import { userInfo } from 'node:os';
import { DEFAULT_DB_URL } from '../db/url.js';

export { DEFAULT_DB_URL };

export const MASTER_DEFAULTS = {
  title: 'Buildbot',
  titleURL: 'http://buildbot.net',
  logLevel: 'info',
  /** Buildbot's c['collapseRequests'] default (None) behaves as true: compatible requests collapse. */
  collapseRequests: true,
} as const;

export const WWW_DEFAULTS = { host: '127.0.0.1', port: 8010 } as const;

/** www.changeHooks.github (www/hooks/github.py). */
export const GITHUB_HOOK_DEFAULTS = {
  strict: false,
  allowSha1: false,
  skips: ['\\[ *skip *ci *\\]', '\\[ *ci *skip *\\]'],
  pullrequest_ref: 'merge',
} as const;

/** buildbotURL defaults to the web server's own address. */
export function defaultBuildbotURL(www: { host: string; port: number }): string {
  const host = www.host.includes(':') ? `[${www.host}]` : www.host;
  return `http://${host}:${www.port}/`;
}

/** Seconds. */
export const MULTI_MASTER_DEFAULTS = { heartbeatInterval: 10, deadMasterTimeout: 60 } as const;

export const WORKER_DEFAULTS = {
  port: 22,
  platform: 'posix',
  maxBuilds: 1,
  /** Seconds between SSH keepalives. */
  keepaliveInterval: 15,
  /** Seconds to wait for the SSH handshake. */
  connectTimeout: 20,
  /** OpenSSH's MaxSessions default: channels (commands, SFTP) open at once on one connection. */
  maxSessions: 10,
} as const;

/** The SSH login when a worker names none: the user running the master, as ssh does. */
export function defaultWorkerUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers): the name the environment gives.
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

/** The shell a worker's commands run in, by platform. */
export function defaultShell(platform: 'posix' | 'macos' | 'windows'): 'sh' | 'cmd' | 'powershell' {
  return platform === 'windows' ? 'cmd' : 'sh';
}

/** Buildbot's safeTranslate: the builder name with characters unsafe in a path replaced by '_'. */
export function defaultBuilddir(builderName: string): string {
  return builderName.replace(/[\t !#$%&'()*+,./:;<=>?@[\\\]^{|}~]/g, '_');
}

/** BuildStep options common to every step (process/buildstep.py, process/results.py). */
export const STEP_DEFAULTS = {
  haltOnFailure: false,
  flunkOnFailure: true,
  warnOnFailure: false,
  warnOnWarnings: false,
  flunkOnWarnings: false,
  alwaysRun: false,
  doStepIf: true,
  hideStepIf: false,
} as const;

/** Remote shell options (ShellMixin). timeout is seconds without output. */
export const SHELL_DEFAULTS = {
  timeout: 1200,
  /** No limit on the total run time. */
  maxTime: null,
  logEnviron: true,
  interruptSignal: 'KILL',
  decodeRC: { 0: 0 } as Record<number, number>,
  want_stdout: true,
  want_stderr: true,
  lazylogfiles: false,
} as const;

/** MasterLock / WorkerLock (the lock classes apply the same value when constructed). */
export const LOCK_DEFAULTS = { maxCount: 1 } as const;

/** Per step kind: Buildbot's default step name and the class attributes that differ from STEP_DEFAULTS. */
export const STEP_KIND_DEFAULTS = {
  ShellCommand: { name: 'shell' },
  Compile: { name: 'compile', haltOnFailure: true, command: ['make', 'all'], description: 'compiling', descriptionDone: 'compile' },
  Test: { name: 'test', warnOnFailure: true, command: ['make', 'test'], description: 'testing', descriptionDone: 'test' },
  Git: { name: 'git', haltOnFailure: true, description: 'updating', descriptionDone: 'update' },
  SetPropertyFromCommand: { name: 'setproperty' },
  FileUpload: { name: 'upload', haltOnFailure: true },
  FileDownload: { name: 'download', haltOnFailure: true },
  DirectoryUpload: { name: 'upload', haltOnFailure: true },
  TestResults: { name: 'testresults' },
  Trigger: { name: 'trigger' },
} as const;

export const GIT_DEFAULTS = {
  branch: 'HEAD',
  mode: 'incremental',
  submodules: false,
  shallow: false,
  retryFetch: false,
  clobberOnFailure: false,
  alwaysUseLatest: false,
  workdir: 'build',
  codebase: '',
  progress: true,
} as const;

export const SET_PROPERTY_DEFAULTS = { strip: true, includeStdout: true, includeStderr: false } as const;

export const TRANSFER_DEFAULTS = {
  fileBlocksize: 256 * 1024,
  downloadBlocksize: 16 * 1024,
  directoryBlocksize: 16 * 1024,
  keepstamp: false,
} as const;

export const TRIGGER_DEFAULTS = {
  waitForFinish: false,
  alwaysUseLatest: false,
  parent_relationship: 'Triggered from',
} as const;

/** BaseScheduler: codebases={'': {}}. */
export function defaultCodebases(): Record<string, { repository?: string; branch?: string; revision?: string }> {
  return { '': {} };
}

export const SCHEDULER_REASONS = {
  SingleBranchScheduler: "The SingleBranchScheduler scheduler named '%(name)s' triggered this build",
  AnyBranchScheduler: "The AnyBranchScheduler scheduler named '%(name)s' triggered this build",
  Periodic: "The Periodic scheduler named '%(name)s' triggered this build",
  Nightly: "The Nightly scheduler named '%(name)s' triggered this build",
  NightlyTriggerable: "The NightlyTriggerable scheduler named '%(name)s' triggered this build",
} as const;

export const BASIC_SCHEDULER_DEFAULTS = { onlyImportant: false, createAbsoluteSourceStamps: false } as const;
export const TIMED_SCHEDULER_DEFAULTS = { onlyIfChanged: false, onlyImportant: false, createAbsoluteSourceStamps: false } as const;
export const NIGHTLY_DEFAULTS = { minute: 0, hour: '*', dayOfMonth: '*', month: '*', dayOfWeek: '*' } as const;

export const FORCE_SCHEDULER_DEFAULTS = {
  reasonString: "A build was forced by '%(owner)s': %(reason)s",
  reason: { name: 'reason', default: 'force build', size: 20 },
} as const;

/** Force-form parameters (schedulers/forcesched.py class attributes). */
export const FORCE_PARAMETER_DEFAULTS = {
  common: { required: false, hide: false, multiple: false },
  StringParameter: { default: '', size: 10 },
  TextParameter: { default: '', size: 10, cols: 80, rows: 20 },
  IntParameter: { default: 0, size: 10 },
  BooleanParameter: { default: false },
  ChoiceStringParameter: { default: '', strict: true },
  FixedParameter: { default: '', hide: true },
  UserNameParameter: { name: 'username', label: 'Your name:', default: '', size: 30, need_email: true },
} as const;

export const POLLER_DEFAULTS = {
  /** Seconds. */
  pollInterval: 600,
  pollAtLaunch: false,
  pollRandomDelayMin: 0,
  pollRandomDelayMax: 0,
  usetimestamps: true,
  project: '',
  encoding: 'utf-8',
} as const;

export const GIT_POLLER_DEFAULTS = {
  branches: ['master'],
  workdir: 'gitpoller-work',
  gitbin: 'git',
  only_tags: false,
  buildPushesWithNoCommits: false,
} as const;

export const HG_POLLER_DEFAULTS = { branches: ['default'], workdir: 'hgpoller-work', hgbin: 'hg' } as const;
