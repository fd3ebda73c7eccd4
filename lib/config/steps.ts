/**
 * Build step declarations for master.config.ts (Buildbot's `steps.*`, same option names). A step
 * object only records its options; they are validated at load and run by lib/steps.
 */
import type { Lock, LockAccess } from './locks.js';
import type { AnyRenderable, Renderable } from './renderables.js';

/** What a doStepIf / hideStepIf callback receives; typed precisely once lib/process exists. */
export type StepHandle = any;

/** Options every step takes (BuildStep.parms). */
export interface BuildStepOptions {
  /** Shown in the UI and stored in the DB (at most 50 characters). Defaults per step kind. */
  name?: Renderable<string>;
  description?: Renderable<string | string[]>;
  descriptionDone?: Renderable<string | string[]>;
  descriptionSuffix?: Renderable<string | string[]>;
  /** Stop the build when this step fails. */
  haltOnFailure?: boolean;
  /** A failure of this step makes the build fail (default true). */
  flunkOnFailure?: boolean;
  /** A failure of this step makes the build WARNINGS. */
  warnOnFailure?: boolean;
  warnOnWarnings?: boolean;
  flunkOnWarnings?: boolean;
  /** Run even after an earlier step halted the build. */
  alwaysRun?: boolean;
  /** false or a function returning false: the step is SKIPPED. */
  doStepIf?: boolean | ((step: StepHandle) => boolean | Promise<boolean>);
  /** true or a function of (results, step): the step is hidden in the UI. */
  hideStepIf?: boolean | ((results: number, step: StepHandle) => boolean | Promise<boolean>);
  locks?: (Lock | LockAccess)[];
  /** Directory on the worker, relative to the builder's directory (default 'build'). */
  workdir?: Renderable<string>;
  logEncoding?: string;
}

export type CommandArg = Renderable<string>;

/** Options of steps that run a command on the worker (Buildbot's ShellMixin). */
export interface ShellOptions extends BuildStepOptions {
  /** A string runs through the worker's shell; an array is argv (renderables allowed in both). */
  command: Renderable<string> | CommandArg[];
  env?: Record<string, Renderable<string> | Renderable<string>[]>;
  /** Seconds without output before the command is killed (default 1200); null: no limit. */
  timeout?: number | null;
  /** Seconds the command may run in all. */
  maxTime?: number | null;
  /** Exit code → result (0 SUCCESS, 1 WARNINGS, 2 FAILURE…); default {0: SUCCESS}, others FAILURE. */
  decodeRC?: Record<number, number>;
  /** Log the environment in the header (default true). */
  logEnviron?: boolean;
  /** Signal used to interrupt the command (default 'KILL'). */
  interruptSignal?: string;
  /** Seconds between SIGTERM and the interruptSignal. */
  sigtermTime?: number;
  initialStdin?: string;
  usePTY?: boolean;
  want_stdout?: boolean;
  want_stderr?: boolean;
  /** Extra log files to watch: log name → path on the worker. */
  logfiles?: Record<string, string>;
  lazylogfiles?: boolean;
}

export type ShellCommandOptions = ShellOptions;
/** Compile defaults to `make all`, haltOnFailure. */
export type CompileOptions = Omit<ShellOptions, 'command'> & { command?: ShellOptions['command'] };
/** Test defaults to `make test`, warnOnFailure. */
export type TestOptions = CompileOptions;

export type ExtractFn = (rc: number, stdout: string, stderr: string) => Record<string, unknown>;

/** Exactly one of `property` and `extract_fn`. */
export interface SetPropertyFromCommandOptions extends ShellOptions {
  property?: Renderable<string>;
  extract_fn?: ExtractFn;
  strip?: boolean;
  includeStdout?: boolean;
  includeStderr?: boolean;
}

export interface GitOptions extends BuildStepOptions {
  repourl: Renderable<string>;
  branch?: Renderable<string>;
  mode?: 'incremental' | 'full';
  /** With mode 'full' only. */
  method?: 'clean' | 'fresh' | 'clobber' | 'copy';
  reference?: Renderable<string>;
  submodules?: boolean;
  /** With mode 'full' and method 'clobber' only; a number is the depth. */
  shallow?: boolean | number;
  retryFetch?: boolean;
  clobberOnFailure?: boolean;
  alwaysUseLatest?: boolean;
  codebase?: string;
  env?: Record<string, Renderable<string>>;
  timeout?: number;
  logEnviron?: boolean;
  progress?: boolean;
  /** `[delay seconds, repeats]`: retry a failed checkout. */
  retry?: [number, number];
  /** git -c key=value settings. */
  config?: Record<string, string>;
  origin?: string;
  sshPrivateKey?: Renderable<string>;
  sshHostKey?: Renderable<string>;
  sshKnownHosts?: Renderable<string>;
}

export interface FileUploadOptions extends BuildStepOptions {
  workersrc: Renderable<string>;
  /** On the master, relative to the master directory. */
  masterdest: Renderable<string>;
  maxsize?: number;
  blocksize?: number;
  /** File mode (e.g. 0o644). */
  mode?: number;
  keepstamp?: boolean;
  url?: Renderable<string>;
  urlText?: Renderable<string>;
}

export interface FileDownloadOptions extends BuildStepOptions {
  mastersrc: Renderable<string>;
  workerdest: Renderable<string>;
  maxsize?: number;
  blocksize?: number;
  mode?: number;
}

export interface DirectoryUploadOptions extends BuildStepOptions {
  workersrc: Renderable<string>;
  masterdest: Renderable<string>;
  maxsize?: number;
  blocksize?: number;
  compress?: 'gz' | 'bz2';
  url?: Renderable<string>;
  urlText?: Renderable<string>;
}

/**
 * TestResults (Jenkins' `junit`): test reports found on the worker by glob, relative to the
 * workdir (`target/surefire-reports/*.xml`, `**` + `/TEST-*.xml`), read as JUnit XML or TAP and
 * recorded as the step's test results (docs/history.md). At least one of `junit` and `tap`.
 */
export interface TestResultsOptions extends BuildStepOptions {
  junit?: Renderable<string> | Renderable<string>[];
  tap?: Renderable<string> | Renderable<string>[];
  /** No matching file, or no test in them, is not a failure (Jenkins' allowEmptyResults). */
  allowEmptyResults?: boolean;
  /** Refuse a report file larger than this many bytes (default 64 MiB). */
  maxsize?: number;
}

export interface SourceStampSpec {
  codebase?: string;
  branch?: string | null;
  revision?: string | null;
  repository?: string;
  project?: string;
}

export interface TriggerOptions extends BuildStepOptions {
  /** Triggerable or NightlyTriggerable schedulers to trigger. */
  schedulerNames: Renderable<string>[];
  unimportantSchedulerNames?: string[];
  sourceStamps?: SourceStampSpec[];
  /** Default: true unless alwaysUseLatest or sourceStamps. */
  updateSourceStamp?: boolean;
  alwaysUseLatest?: boolean;
  waitForFinish?: boolean;
  set_properties?: Record<string, unknown | AnyRenderable>;
  copy_properties?: string[];
  parent_relationship?: string;
}

export class ShellCommand {
  readonly kind = 'ShellCommand' as const;
  readonly options: Readonly<ShellCommandOptions>;
  constructor(options: ShellCommandOptions) {
    this.options = { ...options };
  }
}

export class Compile {
  readonly kind = 'Compile' as const;
  readonly options: Readonly<CompileOptions>;
  constructor(options: CompileOptions = {}) {
    this.options = { ...options };
  }
}

export class Test {
  readonly kind = 'Test' as const;
  readonly options: Readonly<TestOptions>;
  constructor(options: TestOptions = {}) {
    this.options = { ...options };
  }
}

export class SetPropertyFromCommand {
  readonly kind = 'SetPropertyFromCommand' as const;
  readonly options: Readonly<SetPropertyFromCommandOptions>;
  constructor(options: SetPropertyFromCommandOptions) {
    this.options = { ...options };
  }
}

export class Git {
  readonly kind = 'Git' as const;
  readonly options: Readonly<GitOptions>;
  constructor(options: GitOptions) {
    this.options = { ...options };
  }
}

export class FileUpload {
  readonly kind = 'FileUpload' as const;
  readonly options: Readonly<FileUploadOptions>;
  constructor(options: FileUploadOptions) {
    this.options = { ...options };
  }
}

export class FileDownload {
  readonly kind = 'FileDownload' as const;
  readonly options: Readonly<FileDownloadOptions>;
  constructor(options: FileDownloadOptions) {
    this.options = { ...options };
  }
}

export class DirectoryUpload {
  readonly kind = 'DirectoryUpload' as const;
  readonly options: Readonly<DirectoryUploadOptions>;
  constructor(options: DirectoryUploadOptions) {
    this.options = { ...options };
  }
}

export class TestResults {
  readonly kind = 'TestResults' as const;
  readonly options: Readonly<TestResultsOptions>;
  constructor(options: TestResultsOptions) {
    this.options = { ...options };
  }
}

export class Trigger {
  readonly kind = 'Trigger' as const;
  readonly options: Readonly<TriggerOptions>;
  constructor(options: TriggerOptions) {
    this.options = { ...options };
  }
}

export type Step =
  | ShellCommand
  | Compile
  | Test
  | SetPropertyFromCommand
  | Git
  | FileUpload
  | FileDownload
  | DirectoryUpload
  | TestResults
  | Trigger;

export type StepKind = Step['kind'];
