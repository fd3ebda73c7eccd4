/**
 * What a step implementation sees while it runs (lib/process/stepRunner.ts provides it) and what
 * it gives back. One implementation per config `kind`, registered in registry.ts.
 */
import type { ResolvedStep } from '../config/resolved.js';
import type { LogType, LogWriter } from '../logs/logWriter.js';
import type { Properties, PropertyValue } from '../process/properties.js';
import type { ResultCode } from '../process/results.js';
import type { Logger } from '../util/log.js';
import type { Platform } from '../workers/platforms/platform.js';
import type { SshConnection } from '../workers/sshConnection.js';
import type { CommandEnv } from '../workers/types.js';

/** A source stamp of the build (sourcestamps row fields the steps read). */
export interface BuildSourceStamp {
  ssid?: number;
  codebase: string;
  branch: string | null;
  revision: string | null;
  repository: string;
  project: string;
  /** A try job's patch, applied by source steps after checkout (Buildbot's SourceStamp.patch). */
  patch?: BuildPatch | null;
}

/** A patches row, decoded (Buildbot's (patchlevel, diff, root) tuple plus author and comment). */
export interface BuildPatch {
  level: number;
  body: Buffer;
  /** Applied in this directory under the workdir ('' or null: the workdir itself). */
  subdir: string | null;
  author: string | null;
  comment: string | null;
}

export interface StepContext {
  readonly buildid: number;
  readonly buildNumber: number;
  readonly builderName: string;
  readonly workerName: string;
  readonly stepid: number;
  readonly stepName: string;
  readonly conn: SshConnection;
  readonly platform: Platform;
  /** The builder's directory on the slave (absolute). */
  readonly builddir: string;
  /** The step's working directory on the slave (absolute): its `workdir` under builddir, default 'build'. */
  readonly workdir: string;
  /** The master directory: relative master-side paths (masterdest, mastersrc) start here. */
  readonly masterBasedir: string;
  readonly properties: Properties;
  readonly sourcestamps: readonly BuildSourceStamp[];
  /** Builder env ← worker env, rendered; a step's own env goes on top. */
  readonly baseEnv: CommandEnv;
  /** The slave's own environment as a command there sees it (for logEnviron); undefined if unknown. */
  readonly remoteEnv: Readonly<Record<string, string>> | undefined;
  /** Aborted when the build is stopped or the connection is lost; pass it to every remote command. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Sets a build property (runtime; stored when the step ends). */
  setProperty(name: string, value: PropertyValue, source: string): void;
  /** Opens a new log of this step (`s` stdio by default). */
  addLog(name: string, type?: LogType): Promise<LogWriter>;
  /** A finished text log holding `text`. */
  addCompleteLog(name: string, text: string): Promise<void>;
  addURL(name: string, url: string): Promise<void>;
  /** Replace the step's state string while it runs. */
  setStateString(text: string): Promise<void>;
  /** Every secret value is shown as `<name>` (state strings, summaries). */
  mask(text: string): string;
}

export interface StepOutcome {
  results: ResultCode;
  /** Summary to show whatever the step's descriptions say, without the `(result)` suffix. */
  summary?: string;
  /** Summary when the step has neither descriptionDone nor description (e.g. `uploading a.tgz`). */
  fallbackSummary?: string;
}

/** A step implementation. `step` has its renderables already rendered (strings, lists, numbers). */
export interface StepDefinition<S extends ResolvedStep = ResolvedStep> {
  readonly kind: S['kind'];
  run(ctx: StepContext, step: S): Promise<StepOutcome>;
  /**
   * The done summary when the step chose none and has no descriptionDone (Buildbot's ShellMixin
   * shows the first words of the command); undefined for the generic 'finished'.
   */
  defaultDoneSummary?(step: S): string | undefined;
}
