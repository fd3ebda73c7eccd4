/**
 * Scheduler declarations for master.config.ts (Buildbot's `schedulers.*`, same parameter names and
 * defaults). They only record their options; lib/schedulers runs them.
 */
import type { ChangeFilter } from './changeFilter.js';
import type { Duration } from './duration.js';
import type { CodebaseParameter, ForceParameter, StringParameter, UserNameParameter } from './forceParameters.js';
import type { AnyRenderable, Renderable } from './renderables.js';

/** Default source stamp of a codebase when no change names it. */
export interface CodebaseDefaults {
  repository?: string;
  branch?: string | null;
  revision?: string | null;
}

export interface BaseSchedulerOptions {
  name: string;
  builderNames: Renderable<string>[];
  /** Properties of every buildset this scheduler creates (they win over change properties). */
  properties?: Record<string, unknown>;
  /** Codebases to build: names, or name → defaults. Default `{'': {}}`. */
  codebases?: string[] | Record<string, CodebaseDefaults>;
}

/** A change (as the scheduler sees it); typed precisely once lib/changes exists. */
export type ChangeHandle = any;

interface ChangeOptions {
  change_filter?: ChangeFilter;
  /** Is this change important enough to build? Default: every change is. */
  fileIsImportant?: (change: ChangeHandle) => boolean;
  /** Leave unimportant changes out of the buildset too (default false). */
  onlyImportant?: boolean;
  createAbsoluteSourceStamps?: boolean;
  /** `%(name)s` and `%(classname)s` are replaced. */
  reason?: string;
}

export interface SingleBranchSchedulerOptions extends BaseSchedulerOptions, ChangeOptions {
  /** Wait until no change arrived for this long, then build them all; null: one build per change. */
  treeStableTimer?: Duration | null;
  /** Required unless change_filter is given; null is the default branch. */
  branch?: string | null;
  categories?: string[];
}

export interface AnyBranchSchedulerOptions extends BaseSchedulerOptions, ChangeOptions {
  treeStableTimer?: Duration | null;
  /** Branches to watch; default all. */
  branches?: string | null | (string | null)[];
  categories?: string[];
}

interface TimedOptions extends BaseSchedulerOptions, ChangeOptions {
  /** Build only if an important change arrived since the last build (default false). */
  onlyIfChanged?: boolean;
  branch?: string | null;
}

export interface PeriodicOptions extends TimedOptions {
  /** Seconds (or '6h', '1d'…) between builds. */
  periodicBuildTimer: Duration;
}

/** An int, a list of ints, or a cron field string ('*', '*\/2', '1-5'…). */
export type CronField = number | string | number[];

export interface NightlyOptions extends TimedOptions {
  minute?: CronField;
  hour?: CronField;
  dayOfMonth?: CronField;
  month?: CronField;
  /** Buildbot's numbering: 0 = Monday … 6 = Sunday (names like 'sun' also work). */
  dayOfWeek?: CronField;
  /** A standard 5-field cron expression (0 = Sunday) instead of the fields above. */
  cron?: string;
  /** IANA time zone of the cron times; default the master's local time, as Buildbot. */
  timezone?: string;
}

export type NightlyTriggerableOptions = NightlyOptions;

export interface TriggerableOptions extends BaseSchedulerOptions {
  reason?: string;
}

export interface DependentOptions extends BaseSchedulerOptions {
  /** The scheduler(s) whose successful buildsets start this one's, by name (or the scheduler objects). */
  upstream: string | Scheduler | (string | Scheduler)[];
}

export interface ForceSchedulerOptions {
  /** An identifier: letters, digits, '_' and '-'. */
  name: string;
  builderNames: string[];
  username?: UserNameParameter | StringParameter;
  reason?: StringParameter | ForceParameter;
  reasonString?: string;
  buttonName?: string;
  label?: string;
  /** Default: one CodebaseParameter for the '' codebase. */
  codebases?: (string | CodebaseParameter)[];
  /** Extra form fields, each setting a property. */
  properties?: ForceParameter[];
}

export interface TryOptions extends BaseSchedulerOptions {
  /** Port of the try endpoint (users and passwords in `userpass`). */
  port?: number;
  userpass?: [string, Renderable<string>][];
  /** A bearer token for the try endpoint, instead of userpass. */
  token?: Renderable<string> | AnyRenderable;
}

export class SingleBranchScheduler {
  readonly kind = 'SingleBranchScheduler' as const;
  readonly options: Readonly<SingleBranchSchedulerOptions>;
  constructor(options: SingleBranchSchedulerOptions) {
    this.options = { ...options };
  }
}

export class AnyBranchScheduler {
  readonly kind = 'AnyBranchScheduler' as const;
  readonly options: Readonly<AnyBranchSchedulerOptions>;
  constructor(options: AnyBranchSchedulerOptions) {
    this.options = { ...options };
  }
}

export class Periodic {
  readonly kind = 'Periodic' as const;
  readonly options: Readonly<PeriodicOptions>;
  constructor(options: PeriodicOptions) {
    this.options = { ...options };
  }
}

export class Nightly {
  readonly kind = 'Nightly' as const;
  readonly options: Readonly<NightlyOptions>;
  constructor(options: NightlyOptions) {
    this.options = { ...options };
  }
}

export class NightlyTriggerable {
  readonly kind = 'NightlyTriggerable' as const;
  readonly options: Readonly<NightlyTriggerableOptions>;
  constructor(options: NightlyTriggerableOptions) {
    this.options = { ...options };
  }
}

export class Triggerable {
  readonly kind = 'Triggerable' as const;
  readonly options: Readonly<TriggerableOptions>;
  constructor(options: TriggerableOptions) {
    this.options = { ...options };
  }
}

export class Dependent {
  readonly kind = 'Dependent' as const;
  readonly options: Readonly<DependentOptions>;
  constructor(options: DependentOptions) {
    this.options = { ...options };
  }
}

export class ForceScheduler {
  readonly kind = 'ForceScheduler' as const;
  readonly options: Readonly<ForceSchedulerOptions>;
  constructor(options: ForceSchedulerOptions) {
    this.options = { ...options };
  }
}

export class Try {
  readonly kind = 'Try' as const;
  readonly options: Readonly<TryOptions>;
  constructor(options: TryOptions) {
    this.options = { ...options };
  }
}

export type Scheduler =
  | SingleBranchScheduler
  | AnyBranchScheduler
  | Periodic
  | Nightly
  | NightlyTriggerable
  | Triggerable
  | Dependent
  | ForceScheduler
  | Try;

export type SchedulerKind = Scheduler['kind'];
