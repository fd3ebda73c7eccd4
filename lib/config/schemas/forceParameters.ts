/** Schemas of ForceScheduler form fields (util.StringParameter and friends). */
import { z } from 'zod';
import { FORCE_PARAMETER_DEFAULTS } from '../defaults.js';
import type { ForceParameterKind } from '../forceParameters.js';
import type { ResolvedCodebaseParameter, ResolvedForceParameter } from '../resolved.js';
import { bool, describeValue, forward, instance, obj, positiveInt, record, str } from './common.js';

const RESERVED = ['owner', 'builderNames', 'builderid'];

const parameterName = () =>
  z.string().min(1).superRefine((name, ctx) => {
    if (RESERVED.includes(name)) ctx.addIssue({ code: 'custom', message: `"${name}" is reserved and cannot be a parameter name` });
  });

/** A string is a regular expression matched at the start, like Python's re.match. */
const regex = () =>
  z.unknown().transform((v, ctx): RegExp => {
    if (v instanceof RegExp) return v;
    if (typeof v === 'string') {
      try {
        return new RegExp(`^(?:${v})`);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `bad regular expression: ${(err as Error).message}`, input: v });
        return z.NEVER;
      }
    }
    ctx.addIssue({ code: 'custom', message: `expected a regular expression, got ${describeValue(v)}`, input: v });
    return z.NEVER;
  });

const baseShape = {
  name: parameterName(),
  label: str().optional(),
  tablabel: str().optional(),
  required: bool().optional(),
  regex: regex().optional(),
  hide: bool().optional(),
  maxsize: positiveInt().optional(),
  autopopulate: record(record(z.unknown())).optional(),
};

type BaseInput = { name: string; label?: string; tablabel?: string; required?: boolean; regex?: RegExp; hide?: boolean; maxsize?: number; autopopulate?: Record<string, Record<string, unknown>> };

function resolveBase(kind: ForceParameterKind, o: BaseInput, fallbackDefault: unknown, extra: Partial<ResolvedForceParameter> = {}): ResolvedForceParameter {
  const label = o.label ?? o.name;
  const hideDefault = kind === 'FixedParameter' ? FORCE_PARAMETER_DEFAULTS.FixedParameter.hide : FORCE_PARAMETER_DEFAULTS.common.hide;
  const r: ResolvedForceParameter = {
    kind,
    name: o.name,
    fullName: o.name,
    label,
    tablabel: o.tablabel ?? label,
    default: fallbackDefault,
    required: o.required ?? FORCE_PARAMETER_DEFAULTS.common.required,
    multiple: FORCE_PARAMETER_DEFAULTS.common.multiple,
    hide: o.hide ?? hideDefault,
    ...extra,
  };
  if (o.regex) r.regex = o.regex;
  if (o.maxsize !== undefined) r.maxsize = o.maxsize;
  if (o.autopopulate) r.autopopulate = o.autopopulate;
  return r;
}

const D = FORCE_PARAMETER_DEFAULTS;

export const FORCE_PARAMETER_SCHEMAS = {
  StringParameter: obj({ ...baseShape, default: str().optional(), size: positiveInt().optional() }).transform((o) =>
    resolveBase('StringParameter', o, o.default ?? D.StringParameter.default, { size: o.size ?? D.StringParameter.size }),
  ),
  TextParameter: obj({
    ...baseShape,
    default: str().optional(),
    size: positiveInt().optional(),
    cols: positiveInt().optional(),
    rows: positiveInt().optional(),
  }).transform((o) =>
    resolveBase('TextParameter', o, o.default ?? D.TextParameter.default, {
      size: o.size ?? D.TextParameter.size,
      cols: o.cols ?? D.TextParameter.cols,
      rows: o.rows ?? D.TextParameter.rows,
    }),
  ),
  IntParameter: obj({ ...baseShape, default: z.number().int().optional(), size: positiveInt().optional() }).transform((o) =>
    resolveBase('IntParameter', o, o.default ?? D.IntParameter.default, { size: o.size ?? D.IntParameter.size }),
  ),
  BooleanParameter: obj({ ...baseShape, default: bool().optional() }).transform((o) =>
    resolveBase('BooleanParameter', o, o.default ?? D.BooleanParameter.default),
  ),
  ChoiceStringParameter: obj({
    ...baseShape,
    choices: z.array(z.string()).min(1),
    strict: bool().optional(),
    multiple: bool().optional(),
    default: z.union([z.string(), z.array(z.string())]).optional(),
  }).transform((o, ctx) => {
    const strict = o.strict ?? D.ChoiceStringParameter.strict;
    const defaults = o.default === undefined ? [] : Array.isArray(o.default) ? o.default : [o.default];
    for (const d of defaults) {
      if (strict && !o.choices.includes(d)) {
        ctx.addIssue({ code: 'custom', message: `default "${d}" is not one of the choices`, path: ['default'] });
        return z.NEVER;
      }
    }
    return resolveBase('ChoiceStringParameter', o, o.default ?? D.ChoiceStringParameter.default, {
      choices: [...o.choices],
      strict,
      multiple: o.multiple ?? FORCE_PARAMETER_DEFAULTS.common.multiple,
    });
  }),
  FixedParameter: obj({ ...baseShape, default: str() }).transform((o) => resolveBase('FixedParameter', o, o.default)),
  UserNameParameter: obj({
    ...baseShape,
    name: parameterName().optional(),
    default: str().optional(),
    size: positiveInt().optional(),
    need_email: bool().optional(),
  }).transform((o) =>
    resolveBase(
      'UserNameParameter',
      { ...o, name: o.name ?? D.UserNameParameter.name, label: o.label ?? D.UserNameParameter.label },
      o.default ?? D.UserNameParameter.default,
      { size: o.size ?? D.UserNameParameter.size, need_email: o.need_email ?? D.UserNameParameter.need_email },
    ),
  ),
} satisfies Record<ForceParameterKind, z.ZodType<ResolvedForceParameter>>;

export const forceParameter = instance(
  FORCE_PARAMETER_SCHEMAS,
  'a force-form parameter',
  'new util.StringParameter({...}), new util.ChoiceStringParameter({...}), …',
);

/** A CodebaseParameter field: a parameter, a fixed string, or null (left out). */
const codebaseField = z.unknown().transform((v, ctx): ResolvedForceParameter | string | null | undefined => {
  if (v === undefined || v === null || typeof v === 'string') return v;
  return forward(forceParameter, v, ctx);
});

const CODEBASE_FIELDS = ['branch', 'project', 'repository', 'revision'] as const;

const codebaseParameterOptions = obj({
  codebase: str(),
  name: str().optional(),
  label: str().optional(),
  branch: codebaseField.optional(),
  revision: codebaseField.optional(),
  repository: codebaseField.optional(),
  project: codebaseField.optional(),
  hide: bool().optional(),
}).transform((o): ResolvedCodebaseParameter => {
  const name = o.name ?? o.codebase;
  const fields: ResolvedForceParameter[] = [];
  // Buildbot sorts the fields by name and drops those set to None.
  for (const key of CODEBASE_FIELDS) {
    const v = o[key];
    if (v === null) continue;
    let field: ResolvedForceParameter;
    if (v === undefined) field = resolveBase('StringParameter', { name: key, label: `${key[0]!.toUpperCase()}${key.slice(1)}:` }, '', { size: D.StringParameter.size });
    else if (typeof v === 'string') field = resolveBase('FixedParameter', { name: key }, v);
    else field = v;
    fields.push({ ...field, fullName: name ? `${name}_${field.name}` : field.name });
  }
  return {
    kind: 'CodebaseParameter',
    codebase: o.codebase,
    name,
    label: o.label ?? (o.codebase ? `Codebase: ${o.codebase}` : ''),
    hide: o.hide ?? FORCE_PARAMETER_DEFAULTS.common.hide,
    fields,
  };
});

/** A codebase of a force form: a CodebaseParameter, or a codebase name (all fields default). */
export const codebaseParameter = z.unknown().transform((v, ctx): ResolvedCodebaseParameter => {
  if (typeof v === 'string') return forward(codebaseParameterOptions, { codebase: v }, ctx) as ResolvedCodebaseParameter;
  if ((v as { kind?: unknown } | null)?.kind !== 'CodebaseParameter') {
    ctx.addIssue({ code: 'custom', message: `expected a codebase name or new util.CodebaseParameter({...}), got ${describeValue(v)}`, input: v });
    return z.NEVER;
  }
  return forward(codebaseParameterOptions, (v as { options?: unknown }).options ?? {}, ctx) as ResolvedCodebaseParameter;
});

/** The default username and reason fields of a ForceScheduler. */
export function resolveDefaultParameter(kind: 'UserNameParameter' | 'StringParameter', options: object): ResolvedForceParameter {
  return FORCE_PARAMETER_SCHEMAS[kind].parse(options);
}
