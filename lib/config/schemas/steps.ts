/** Schemas of the step options: validate, then resolve with the defaults of defaults.ts. */
import { z } from 'zod';
import {
  GIT_DEFAULTS,
  SET_PROPERTY_DEFAULTS,
  SHELL_DEFAULTS,
  STEP_DEFAULTS,
  STEP_KIND_DEFAULTS,
  TRANSFER_DEFAULTS,
  TRIGGER_DEFAULTS,
} from '../defaults.js';
import { Property, isRenderable, type AnyRenderable, type Renderable } from '../renderables.js';
import type {
  ResolvedShellFields,
  ResolvedStep,
  ResolvedStepCommon,
} from '../resolved.js';
import type { StepKind } from '../steps.js';
import { bool, checkRenderable, count, describeValue, duration, fn, instance, obj, positiveInt, record, renderable, str, stringRecord } from './common.js';
import { lockList } from './locks.js';

type Ctx = z.core.$RefinementCtx;

const strOrList = () => z.union([z.string(), z.array(z.string())], { error: (iss) => `expected a string or an array of strings, got ${describeValue(iss.input)}` });
const boolOrFn = () => z.union([z.boolean(), fn()], { error: (iss) => `expected true, false or a function, got ${describeValue(iss.input)}` });

const commonShape = {
  name: renderable(z.string().min(1).max(50)).optional(),
  description: renderable(strOrList()).optional(),
  descriptionDone: renderable(strOrList()).optional(),
  descriptionSuffix: renderable(strOrList()).optional(),
  haltOnFailure: bool().optional(),
  flunkOnFailure: bool().optional(),
  warnOnFailure: bool().optional(),
  warnOnWarnings: bool().optional(),
  flunkOnWarnings: bool().optional(),
  alwaysRun: bool().optional(),
  doStepIf: boolOrFn().optional(),
  hideStepIf: boolOrFn().optional(),
  locks: lockList().optional(),
  workdir: renderable(str()).optional(),
  logEncoding: str().optional(),
};

/** A command: one string (run by the shell) or argv; renderables anywhere. */
const command = () =>
  z.unknown().transform((v, ctx): Renderable<string> | Renderable<string>[] => {
    if (Array.isArray(v)) {
      const parsed = z.array(renderable(z.string())).min(1).safeParse(v, { reportInput: true });
      if (!parsed.success) {
        for (const iss of parsed.error.issues) {
          const message = iss.code === 'too_small' ? 'must not be empty' : iss.message;
          ctx.addIssue({ code: 'custom', message, path: iss.path as (string | number)[], input: v });
        }
        return z.NEVER;
      }
      return parsed.data;
    }
    if (isRenderable(v)) {
      checkRenderable(v, ctx);
      return v;
    }
    if (typeof v === 'string' && v !== '') return v;
    const message = v === undefined ? 'missing required option' : typeof v === 'string' ? 'must not be empty'
      : `expected a string, an array of strings or a renderable, got ${describeValue(v)}`;
    ctx.addIssue({ code: 'custom', message, input: v });
    return z.NEVER;
  });

const decodeRC = () =>
  record(z.number().int().min(0).max(6)).superRefine((v, ctx) => {
    for (const key of Object.keys(v)) {
      if (!/^-?\d+$/.test(key)) ctx.addIssue({ code: 'custom', message: 'expected an exit code (an integer) as key', path: [key] });
    }
  });

const renderableList = () => z.union([renderable(str()), z.array(renderable(str()))]);

const shellShape = {
  ...commonShape,
  command: command(),
  env: record(renderableList()).optional(),
  timeout: duration().nullable().optional(),
  maxTime: duration().nullable().optional(),
  decodeRC: decodeRC().optional(),
  logEnviron: bool().optional(),
  interruptSignal: str().optional(),
  sigtermTime: duration().optional(),
  initialStdin: str().optional(),
  usePTY: bool().optional(),
  want_stdout: bool().optional(),
  want_stderr: bool().optional(),
  logfiles: stringRecord().optional(),
  lazylogfiles: bool().optional(),
};

type CommonInput = z.output<ReturnType<typeof obj<typeof commonShape>>>;
type ShellInput = z.output<ReturnType<typeof obj<typeof shellShape>>>;

function listify(v: Renderable<string | string[]> | undefined): Renderable<string[]> | undefined {
  if (v === undefined || isRenderable(v)) return v as AnyRenderable | undefined;
  return Array.isArray(v) ? v : [v as string];
}

function resolveCommon(kind: StepKind, o: CommonInput): ResolvedStepCommon {
  const k: { name: string; haltOnFailure?: boolean; warnOnFailure?: boolean; description?: string; descriptionDone?: string } =
    STEP_KIND_DEFAULTS[kind];
  const r: ResolvedStepCommon = {
    name: o.name ?? k.name,
    haltOnFailure: o.haltOnFailure ?? k.haltOnFailure ?? STEP_DEFAULTS.haltOnFailure,
    flunkOnFailure: o.flunkOnFailure ?? STEP_DEFAULTS.flunkOnFailure,
    warnOnFailure: o.warnOnFailure ?? k.warnOnFailure ?? STEP_DEFAULTS.warnOnFailure,
    warnOnWarnings: o.warnOnWarnings ?? STEP_DEFAULTS.warnOnWarnings,
    flunkOnWarnings: o.flunkOnWarnings ?? STEP_DEFAULTS.flunkOnWarnings,
    alwaysRun: o.alwaysRun ?? STEP_DEFAULTS.alwaysRun,
    doStepIf: o.doStepIf ?? STEP_DEFAULTS.doStepIf,
    hideStepIf: o.hideStepIf ?? STEP_DEFAULTS.hideStepIf,
    locks: o.locks ?? [],
  };
  const description = listify(o.description ?? k.description);
  const descriptionDone = listify(o.descriptionDone ?? k.descriptionDone);
  const descriptionSuffix = listify(o.descriptionSuffix);
  if (description) r.description = description;
  if (descriptionDone) r.descriptionDone = descriptionDone;
  if (descriptionSuffix) r.descriptionSuffix = descriptionSuffix;
  if (o.workdir !== undefined) r.workdir = o.workdir;
  if (o.logEncoding !== undefined) r.logEncoding = o.logEncoding;
  return r;
}

function resolveShell(o: ShellInput): ResolvedShellFields {
  const r: ResolvedShellFields = {
    command: o.command,
    env: { ...(o.env ?? {}) },
    timeout: o.timeout === undefined ? SHELL_DEFAULTS.timeout : o.timeout,
    maxTime: o.maxTime ?? SHELL_DEFAULTS.maxTime,
    decodeRC: o.decodeRC ? { ...o.decodeRC } : { ...SHELL_DEFAULTS.decodeRC },
    logEnviron: o.logEnviron ?? SHELL_DEFAULTS.logEnviron,
    interruptSignal: o.interruptSignal ?? SHELL_DEFAULTS.interruptSignal,
    want_stdout: o.want_stdout ?? SHELL_DEFAULTS.want_stdout,
    want_stderr: o.want_stderr ?? SHELL_DEFAULTS.want_stderr,
    logfiles: { ...(o.logfiles ?? {}) },
    lazylogfiles: o.lazylogfiles ?? SHELL_DEFAULTS.lazylogfiles,
  };
  if (o.sigtermTime !== undefined) r.sigtermTime = o.sigtermTime;
  if (o.initialStdin !== undefined) r.initialStdin = o.initialStdin;
  if (o.usePTY !== undefined) r.usePTY = o.usePTY;
  return r;
}

/** Copies the optional keys that are set (so resolved objects carry no `key: undefined`). */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const shellStep = <K extends 'ShellCommand' | 'Compile' | 'Test'>(kind: K, defaultCommand?: readonly string[]) => {
  const shape = defaultCommand ? { ...shellShape, command: command().optional() } : shellShape;
  return obj(shape).transform((o) => {
    const withCommand = { ...o, command: o.command ?? [...defaultCommand!] } as ShellInput;
    return { kind, ...resolveCommon(kind, o), ...resolveShell(withCommand) };
  });
};

const setPropertyFromCommand = obj({
  ...shellShape,
  property: renderable(z.string().min(1)).optional(),
  extract_fn: fn().optional(),
  strip: bool().optional(),
  includeStdout: bool().optional(),
  includeStderr: bool().optional(),
}).transform((o, ctx) => {
  if ((o.property === undefined) === (o.extract_fn === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'exactly one of property and extract_fn must be set', path: ['property'] });
    return z.NEVER;
  }
  return {
    kind: 'SetPropertyFromCommand' as const,
    ...resolveCommon('SetPropertyFromCommand', o),
    ...resolveShell(o),
    ...pick(o, ['property', 'extract_fn']),
    strip: o.strip ?? SET_PROPERTY_DEFAULTS.strip,
    includeStdout: o.includeStdout ?? SET_PROPERTY_DEFAULTS.includeStdout,
    // Buildbot: an extract_fn always sees stderr.
    includeStderr: o.extract_fn ? true : (o.includeStderr ?? SET_PROPERTY_DEFAULTS.includeStderr),
  };
});

const git = obj({
  ...commonShape,
  repourl: renderable(z.string().min(1)),
  branch: renderable(z.string().min(1)).optional(),
  mode: z.enum(['incremental', 'full']).optional(),
  method: z.enum(['clean', 'fresh', 'clobber', 'copy']).optional(),
  reference: renderable(str()).optional(),
  submodules: bool().optional(),
  shallow: z.union([z.boolean(), positiveInt()], { error: (iss) => `expected true, false or a depth, got ${describeValue(iss.input)}` }).optional(),
  retryFetch: bool().optional(),
  clobberOnFailure: bool().optional(),
  alwaysUseLatest: bool().optional(),
  codebase: str().optional(),
  env: record(renderable(str())).optional(),
  timeout: duration().optional(),
  logEnviron: bool().optional(),
  progress: bool().optional(),
  retry: z.tuple([duration(), count()], { error: (iss) => `expected [delay, repeats], got ${describeValue(iss.input)}` }).optional(),
  config: stringRecord().optional(),
  origin: str().optional(),
  sshPrivateKey: renderable(str()).optional(),
  sshHostKey: renderable(str()).optional(),
  sshKnownHosts: renderable(str()).optional(),
}).transform((o, ctx) => {
  const mode = o.mode ?? GIT_DEFAULTS.mode;
  let ok = true;
  if (o.method !== undefined && mode !== 'full') {
    ctx.addIssue({ code: 'custom', message: `method "${o.method}" needs mode "full"`, path: ['method'] });
    ok = false;
  }
  if (o.shallow && (mode !== 'full' || o.method !== 'clobber')) {
    ctx.addIssue({ code: 'custom', message: 'shallow is only possible with mode "full" and method "clobber"', path: ['shallow'] });
    ok = false;
  }
  if (!ok) return z.NEVER;
  return {
    kind: 'Git' as const,
    ...resolveCommon('Git', o),
    repourl: o.repourl,
    branch: o.branch ?? GIT_DEFAULTS.branch,
    mode,
    ...pick(o, ['method', 'reference', 'retry', 'origin', 'sshPrivateKey', 'sshHostKey', 'sshKnownHosts']),
    submodules: o.submodules ?? GIT_DEFAULTS.submodules,
    shallow: o.shallow ?? GIT_DEFAULTS.shallow,
    retryFetch: o.retryFetch ?? GIT_DEFAULTS.retryFetch,
    clobberOnFailure: o.clobberOnFailure ?? GIT_DEFAULTS.clobberOnFailure,
    alwaysUseLatest: o.alwaysUseLatest ?? GIT_DEFAULTS.alwaysUseLatest,
    codebase: o.codebase ?? GIT_DEFAULTS.codebase,
    env: { ...(o.env ?? {}) },
    timeout: o.timeout ?? SHELL_DEFAULTS.timeout,
    logEnviron: o.logEnviron ?? SHELL_DEFAULTS.logEnviron,
    progress: o.progress ?? GIT_DEFAULTS.progress,
    config: { ...(o.config ?? {}) },
    workdir: o.workdir ?? GIT_DEFAULTS.workdir,
  };
});

const transferShape = { ...commonShape, maxsize: positiveInt().optional(), blocksize: positiveInt().optional() };

const fileUpload = obj({
  ...transferShape,
  workersrc: renderable(z.string().min(1)),
  masterdest: renderable(z.string().min(1)),
  mode: count().optional(),
  keepstamp: bool().optional(),
  url: renderable(str()).optional(),
  urlText: renderable(str()).optional(),
}).transform((o) => ({
  kind: 'FileUpload' as const,
  ...resolveCommon('FileUpload', o),
  ...pick(o, ['maxsize', 'mode', 'url', 'urlText']),
  blocksize: o.blocksize ?? TRANSFER_DEFAULTS.fileBlocksize,
  workersrc: o.workersrc,
  masterdest: o.masterdest,
  keepstamp: o.keepstamp ?? TRANSFER_DEFAULTS.keepstamp,
}));

const fileDownload = obj({
  ...transferShape,
  mastersrc: renderable(z.string().min(1)),
  workerdest: renderable(z.string().min(1)),
  mode: count().optional(),
}).transform((o) => ({
  kind: 'FileDownload' as const,
  ...resolveCommon('FileDownload', o),
  ...pick(o, ['maxsize', 'mode']),
  blocksize: o.blocksize ?? TRANSFER_DEFAULTS.downloadBlocksize,
  mastersrc: o.mastersrc,
  workerdest: o.workerdest,
}));

const directoryUpload = obj({
  ...transferShape,
  workersrc: renderable(z.string().min(1)),
  masterdest: renderable(z.string().min(1)),
  compress: z.enum(['gz', 'bz2']).optional(),
  url: renderable(str()).optional(),
  urlText: renderable(str()).optional(),
}).transform((o) => ({
  kind: 'DirectoryUpload' as const,
  ...resolveCommon('DirectoryUpload', o),
  ...pick(o, ['maxsize', 'compress', 'url', 'urlText']),
  blocksize: o.blocksize ?? TRANSFER_DEFAULTS.directoryBlocksize,
  workersrc: o.workersrc,
  masterdest: o.masterdest,
}));

const globs = () => z.union([renderable(z.string().min(1)), z.array(renderable(z.string().min(1))).min(1)], {
  error: (iss) => `expected a glob or an array of globs, got ${describeValue(iss.input)}`,
});
const globList = (v: Renderable<string> | Renderable<string>[] | undefined): Renderable<string>[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const testResults = obj({
  ...commonShape,
  junit: globs().optional(),
  tap: globs().optional(),
  allowEmptyResults: bool().optional(),
  maxsize: positiveInt().optional(),
}).transform((o, ctx) => {
  if (o.junit === undefined && o.tap === undefined) {
    ctx.addIssue({ code: 'custom', message: 'needs junit or tap (a glob of report files)', path: ['junit'] });
    return z.NEVER;
  }
  return {
    kind: 'TestResults' as const,
    ...resolveCommon('TestResults', o),
    junit: globList(o.junit),
    tap: globList(o.tap),
    allowEmptyResults: o.allowEmptyResults ?? false,
    ...pick(o, ['maxsize']),
  };
});

const sourceStamp = obj({
  codebase: str().optional(),
  branch: str().nullable().optional(),
  revision: str().nullable().optional(),
  repository: str().optional(),
  project: str().optional(),
});

const trigger = obj({
  ...commonShape,
  schedulerNames: z.array(renderable(z.string().min(1))).min(1),
  unimportantSchedulerNames: z.array(str()).optional(),
  sourceStamps: z.array(sourceStamp).optional(),
  updateSourceStamp: bool().optional(),
  alwaysUseLatest: bool().optional(),
  waitForFinish: bool().optional(),
  set_properties: record(z.unknown()).optional(),
  copy_properties: z.array(z.string().min(1)).optional(),
  parent_relationship: str().optional(),
}).transform((o, ctx) => conflicts(o, ctx) ? z.NEVER : {
  kind: 'Trigger' as const,
  ...resolveCommon('Trigger', o),
  schedulerNames: o.schedulerNames,
  unimportantSchedulerNames: o.unimportantSchedulerNames ?? [],
  sourceStamps: o.sourceStamps ?? [],
  updateSourceStamp: o.updateSourceStamp ?? !(o.alwaysUseLatest || (o.sourceStamps ?? []).length > 0),
  alwaysUseLatest: o.alwaysUseLatest ?? TRIGGER_DEFAULTS.alwaysUseLatest,
  waitForFinish: o.waitForFinish ?? TRIGGER_DEFAULTS.waitForFinish,
  set_properties: {
    ...(o.set_properties ?? {}),
    ...Object.fromEntries((o.copy_properties ?? []).map((p) => [p, new Property(p)])),
  },
  parent_relationship: o.parent_relationship ?? TRIGGER_DEFAULTS.parent_relationship,
});

/** Buildbot's Trigger argument conflicts; true when there was one. */
function conflicts(
  o: { sourceStamps?: unknown[]; updateSourceStamp?: boolean; alwaysUseLatest?: boolean; schedulerNames: unknown[]; unimportantSchedulerNames?: string[] },
  ctx: Ctx,
): boolean {
  const problems: [string, string][] = [];
  const stamps = (o.sourceStamps ?? []).length > 0;
  if (stamps && o.updateSourceStamp !== undefined) problems.push(['updateSourceStamp', "can't be given with sourceStamps"]);
  if (stamps && o.alwaysUseLatest) problems.push(['alwaysUseLatest', "can't be given with sourceStamps"]);
  if (o.alwaysUseLatest && o.updateSourceStamp !== undefined) problems.push(['updateSourceStamp', "can't be given with alwaysUseLatest"]);
  const names = new Set(o.schedulerNames.filter((n) => typeof n === 'string'));
  for (const [i, n] of (o.unimportantSchedulerNames ?? []).entries()) {
    if (!names.has(n)) problems.push([`unimportantSchedulerNames[${i}]`, `"${n}" is not in schedulerNames`]);
  }
  for (const [key, message] of problems) {
    const m = /^(\w+)\[(\d+)\]$/.exec(key);
    ctx.addIssue({ code: 'custom', message, path: m ? [m[1]!, Number(m[2])] : [key] });
  }
  return problems.length > 0;
}

export const STEP_SCHEMAS = {
  ShellCommand: shellStep('ShellCommand'),
  Compile: shellStep('Compile', STEP_KIND_DEFAULTS.Compile.command),
  Test: shellStep('Test', STEP_KIND_DEFAULTS.Test.command),
  SetPropertyFromCommand: setPropertyFromCommand,
  Git: git,
  FileUpload: fileUpload,
  FileDownload: fileDownload,
  DirectoryUpload: directoryUpload,
  TestResults: testResults,
  Trigger: trigger,
} satisfies Record<StepKind, z.ZodType<ResolvedStep>>;

export const step = instance(STEP_SCHEMAS, 'a step', 'new steps.ShellCommand({...}), new steps.Git({...}), …');
