/** Schemas of the scheduler options: validate, then resolve with the defaults of defaults.ts. */
import { z } from 'zod';
import { resolveChangeFilter, type ResolvedChangeFilter } from '../changeFilter.js';
import { CRON_FIELDS, cronError, cronFieldError, nightlyCron, timezoneError, type CronFieldValue } from '../cron.js';
import {
  BASIC_SCHEDULER_DEFAULTS,
  FORCE_SCHEDULER_DEFAULTS,
  NIGHTLY_DEFAULTS,
  SCHEDULER_REASONS,
  TIMED_SCHEDULER_DEFAULTS,
  defaultCodebases,
} from '../defaults.js';
import type { ResolvedScheduler } from '../resolved.js';
import type { CodebaseDefaults, SchedulerKind } from '../schedulers.js';
import { bool, describeValue, duration, fn, instance, obj, port, record, renderable, str } from './common.js';
import { changeFilter } from './changeFilter.js';
import { codebaseParameter, forceParameter, resolveDefaultParameter } from './forceParameters.js';

type Ctx = z.core.$RefinementCtx;

const codebaseDefaults = obj({
  repository: str().optional(),
  branch: str().nullable().optional(),
  revision: str().nullable().optional(),
});

const codebases = () =>
  z.unknown().transform((v, ctx): Record<string, CodebaseDefaults> => {
    const schema = Array.isArray(v) ? z.array(z.string()) : record(codebaseDefaults);
    const r = schema.safeParse(v, { reportInput: true });
    if (!r.success) {
      const message = `expected codebase names or an object of codebase defaults, got ${describeValue(v)}`;
      const nested = r.error.issues.filter((i) => i.path.length > 0);
      if (nested.length === 0) ctx.addIssue({ code: 'custom', message, input: v });
      for (const i of nested) ctx.addIssue({ code: 'custom', message: i.message, path: i.path as (string | number)[], input: v });
      return z.NEVER;
    }
    return Array.isArray(r.data) ? Object.fromEntries(r.data.map((c) => [c, {}])) : { ...(r.data as Record<string, CodebaseDefaults>) };
  });

const baseShape = {
  name: z.string().min(1),
  builderNames: z.array(renderable(z.string().min(1))),
  properties: record(z.unknown()).optional(),
  codebases: codebases().optional(),
};

type BaseInput = { name: string; builderNames: unknown[]; properties?: Record<string, unknown>; codebases?: Record<string, CodebaseDefaults> };

function common(o: BaseInput) {
  return {
    name: o.name,
    builderNames: o.builderNames as ResolvedScheduler['builderNames'],
    properties: { ...(o.properties ?? {}) },
    codebases: o.codebases ?? defaultCodebases(),
  };
}

const changeShape = {
  change_filter: changeFilter.optional(),
  fileIsImportant: fn().optional(),
  onlyImportant: bool().optional(),
  createAbsoluteSourceStamps: bool().optional(),
  reason: str().optional(),
};

type ChangeInput = {
  change_filter?: ResolvedChangeFilter;
  fileIsImportant?: (change: unknown) => boolean;
  onlyImportant?: boolean;
  createAbsoluteSourceStamps?: boolean;
  reason?: string;
};

function changeFields(kind: keyof typeof SCHEDULER_REASONS, o: ChangeInput & { name: string }, filter: ResolvedChangeFilter | null) {
  // Buildbot: reason % {'name': ..., 'classname': ...}.
  const reason = (o.reason ?? SCHEDULER_REASONS[kind]).replaceAll('%(name)s', o.name).replaceAll('%(classname)s', kind);
  return {
    change_filter: filter,
    ...(o.fileIsImportant ? { fileIsImportant: o.fileIsImportant } : {}),
    onlyImportant: o.onlyImportant ?? BASIC_SCHEDULER_DEFAULTS.onlyImportant,
    createAbsoluteSourceStamps: o.createAbsoluteSourceStamps ?? BASIC_SCHEDULER_DEFAULTS.createAbsoluteSourceStamps,
    reason,
  };
}

/** Buildbot's ChangeFilter.fromSchedulerConstructorArgs. */
function filterFrom(
  o: ChangeInput,
  branchKey: 'branch' | 'branches',
  branch: unknown,
  categories: string[] | undefined,
  ctx: Ctx,
): ResolvedChangeFilter | null | typeof z.NEVER {
  if (o.change_filter) {
    if (branch !== undefined || categories) {
      ctx.addIssue({ code: 'custom', message: `cannot be given with change_filter`, path: [branch !== undefined ? branchKey : 'categories'] });
      return z.NEVER;
    }
    return o.change_filter;
  }
  if (branch === undefined && !categories) return null;
  return resolveChangeFilter({
    ...(branch !== undefined ? { branch: branch as string | null | (string | null)[] } : {}),
    ...(categories ? { category: categories } : {}),
  });
}

const branchValue = () => z.string().nullable();

const singleBranch = obj({
  ...baseShape,
  ...changeShape,
  treeStableTimer: duration().nullable().optional(),
  branch: branchValue().optional(),
  categories: z.array(z.string()).optional(),
}).transform((o, ctx) => {
  if (o.branch === undefined && !o.change_filter) {
    ctx.addIssue({ code: 'custom', message: 'required unless change_filter is given (null means the default branch)', path: ['branch'] });
    return z.NEVER;
  }
  const filter = filterFrom(o, 'branch', o.branch, o.categories, ctx);
  if (filter === z.NEVER) return z.NEVER;
  return {
    kind: 'SingleBranchScheduler' as const,
    ...common(o),
    ...changeFields('SingleBranchScheduler', o, filter),
    treeStableTimer: o.treeStableTimer ?? null,
  };
});

const anyBranch = obj({
  ...baseShape,
  ...changeShape,
  treeStableTimer: duration().nullable().optional(),
  branches: z.union([branchValue(), z.array(branchValue())], {
    error: (iss) => `expected a branch name, null or an array of them, got ${describeValue(iss.input)}`,
  }).optional(),
  categories: z.array(z.string()).optional(),
}).transform((o, ctx) => {
  const filter = filterFrom(o, 'branches', o.branches, o.categories, ctx);
  if (filter === z.NEVER) return z.NEVER;
  return {
    kind: 'AnyBranchScheduler' as const,
    ...common(o),
    ...changeFields('AnyBranchScheduler', o, filter),
    treeStableTimer: o.treeStableTimer ?? null,
  };
});

const timedShape = { ...baseShape, ...changeShape, onlyIfChanged: bool().optional(), branch: branchValue().optional() };
type TimedInput = BaseInput & ChangeInput & { onlyIfChanged?: boolean; branch?: string | null };

function timedFields(kind: 'Periodic' | 'Nightly' | 'NightlyTriggerable', o: TimedInput) {
  return {
    ...common(o),
    ...changeFields(kind, o, o.change_filter ?? null),
    onlyImportant: o.onlyImportant ?? TIMED_SCHEDULER_DEFAULTS.onlyImportant,
    onlyIfChanged: o.onlyIfChanged ?? TIMED_SCHEDULER_DEFAULTS.onlyIfChanged,
    ...(o.branch !== undefined ? { branch: o.branch } : {}),
  };
}

const periodic = obj({ ...timedShape, periodicBuildTimer: duration() }).transform((o, ctx) => {
  if (o.periodicBuildTimer <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be positive', path: ['periodicBuildTimer'] });
    return z.NEVER;
  }
  return { kind: 'Periodic' as const, ...timedFields('Periodic', o), periodicBuildTimer: o.periodicBuildTimer };
});

const cronField = () =>
  z.union([z.number().int().min(0), z.string().min(1), z.array(z.number().int().min(0)).min(1)], {
    error: (iss) => `expected a number, a list of numbers or a cron field string, got ${describeValue(iss.input)}`,
  });

const nightlyShape = {
  ...timedShape,
  minute: cronField().optional(),
  hour: cronField().optional(),
  dayOfMonth: cronField().optional(),
  month: cronField().optional(),
  dayOfWeek: cronField().optional(),
  cron: str().optional(),
  timezone: str().optional(),
};

const nightly = <K extends 'Nightly' | 'NightlyTriggerable'>(kind: K) =>
  obj(nightlyShape).transform((o, ctx) => {
    let ok = true;
    const bad = (path: string, message: string) => {
      ctx.addIssue({ code: 'custom', message, path: [path] });
      ok = false;
    };
    if (o.timezone !== undefined) {
      const e = timezoneError(o.timezone);
      if (e) bad('timezone', e);
    }
    let cron: string;
    const given = CRON_FIELDS.filter((f) => o[f] !== undefined);
    if (o.cron !== undefined) {
      for (const f of given) bad(f, 'cannot be given with cron');
      cron = o.cron;
      const e = cronError(cron);
      if (e) bad('cron', `bad cron expression "${cron}": ${e}`);
    } else {
      const fields = Object.fromEntries(CRON_FIELDS.map((f) => [f, o[f] ?? NIGHTLY_DEFAULTS[f]])) as Record<(typeof CRON_FIELDS)[number], CronFieldValue>;
      for (const f of given) {
        const e = cronFieldError(f, fields[f]);
        if (e) bad(f, `bad cron field ${describeValue(fields[f])}: ${e}`);
      }
      cron = nightlyCron(fields);
      const e = ok ? cronError(cron) : undefined;
      if (e) bad(given[0] ?? 'minute', `bad cron schedule "${cron}": ${e}`);
    }
    if (!ok) return z.NEVER;
    return { kind, ...timedFields(kind, o), cron, ...(o.timezone !== undefined ? { timezone: o.timezone } : {}) };
  });

const triggerable = obj({ ...baseShape, reason: str().optional() }).transform((o) => ({
  kind: 'Triggerable' as const,
  ...common(o),
  ...(o.reason !== undefined ? { reason: o.reason } : {}),
}));

/** Upstream schedulers by name, or the scheduler objects themselves (Buildbot passes the object). */
const upstreamName = z.unknown().transform((v, ctx): string => {
  if (typeof v === 'string' && v) return v;
  const name = (v as { options?: { name?: unknown } } | null)?.options?.name;
  if (typeof name === 'string' && name) return name;
  ctx.addIssue({ code: 'custom', message: `expected a scheduler name or a scheduler, got ${describeValue(v)}`, input: v });
  return z.NEVER;
});

const dependent = obj({
  ...baseShape,
  upstream: z.union([z.array(upstreamName).min(1), upstreamName]),
}).transform((o) => ({
  kind: 'Dependent' as const,
  ...common(o),
  upstream: Array.isArray(o.upstream) ? o.upstream : [o.upstream],
}));

const IDENTIFIER = /^[A-Za-z\u00a0-\uffff_-][A-Za-z0-9\u00a0-\uffff_-]*$/;

const force = obj({
  name: z.string().min(1).regex(IDENTIFIER, { error: (iss) => `must be an identifier (letters, digits, '_', '-'), got ${describeValue(iss.input)}` }),
  builderNames: z.array(z.string().min(1)),
  username: forceParameter.optional(),
  reason: forceParameter.optional(),
  reasonString: str().optional(),
  buttonName: str().optional(),
  label: str().optional(),
  codebases: z.array(codebaseParameter).min(1).optional(),
  properties: z.array(forceParameter).optional(),
}).transform((o) => {
  const codebaseParameters = o.codebases ?? [codebaseParameter.parse('')];
  return {
    kind: 'ForceScheduler' as const,
    name: o.name,
    builderNames: o.builderNames,
    properties: {},
    codebases: Object.fromEntries(codebaseParameters.map((c) => [c.codebase, { branch: '', repository: '', revision: '' }])),
    username: o.username ?? resolveDefaultParameter('UserNameParameter', {}),
    reason: o.reason ?? resolveDefaultParameter('StringParameter', FORCE_SCHEDULER_DEFAULTS.reason),
    reasonString: o.reasonString ?? FORCE_SCHEDULER_DEFAULTS.reasonString,
    buttonName: o.buttonName ?? o.name,
    label: o.label ?? o.name,
    codebaseParameters,
    forceProperties: o.properties ?? [],
  };
});

const tryScheduler = obj({
  ...baseShape,
  port: port().optional(),
  userpass: z.array(z.tuple([z.string().min(1), renderable(z.string())])).optional(),
  token: renderable(z.string().min(1)).optional(),
}).transform((o, ctx) => {
  if (!o.userpass?.length && o.token === undefined) {
    ctx.addIssue({ code: 'custom', message: 'give userpass or token: try jobs need credentials', path: ['userpass'] });
    return z.NEVER;
  }
  return {
    kind: 'Try' as const,
    ...common(o),
    ...(o.port !== undefined ? { port: o.port } : {}),
    userpass: o.userpass ?? [],
    ...(o.token !== undefined ? { token: o.token } : {}),
  };
});

export const SCHEDULER_SCHEMAS = {
  SingleBranchScheduler: singleBranch,
  AnyBranchScheduler: anyBranch,
  Periodic: periodic,
  Nightly: nightly('Nightly'),
  NightlyTriggerable: nightly('NightlyTriggerable'),
  Triggerable: triggerable,
  Dependent: dependent,
  ForceScheduler: force,
  Try: tryScheduler,
} satisfies Record<SchedulerKind, z.ZodType<ResolvedScheduler>>;

export const scheduler = instance(SCHEDULER_SCHEMAS, 'a scheduler', 'new schedulers.SingleBranchScheduler({...}), …');
