/**
 * ForceScheduler (Buildbot's schedulers/forcesched.py) as a library call: turn the arguments of a
 * force — from `master.force()` or the web's JSON-RPC `force` — into a validated buildset: the
 * builders, the reason text, the properties and one source stamp per codebase. The master adds the
 * buildset (lib/process/submitBuildset.ts).
 *
 * Form values are looked up by each field's full name (`reason`, `username`, `branch`, or
 * `<codebase>_branch` inside a named CodebaseParameter, property fields by their name), the way
 * Buildbot's form posts them; every field's problems are collected and reported together.
 */
import { BuildmasterError } from '../errors/BuildmasterError.js';
import type { ResolvedForceParameter, ResolvedForceScheduler } from '../config/resolved.js';
import type { SourcestampSpec } from '../db/sourcestamps.js';

export interface ForceArgs {
  /** Restrict to these builders (those not in the scheduler's builderNames are ignored, as Buildbot). */
  builderNames?: string[];
  /** Force one builder by id (the web's per-builder force button). */
  builderid?: number;
  reason?: string;
  /** Who forced; when absent or 'anonymous' the form's username field gives it. */
  owner?: string;
  username?: string;
  /** Other form values by full name: codebase fields (`branch`, `revision`, …) and property fields. */
  fields?: Record<string, unknown>;
  /** Values for the form's property fields by name; names the form does not have are set as given. */
  properties?: Record<string, unknown>;
  /** Source stamps given outright; they override the codebase fields of the same codebase. */
  sourcestamps?: SourcestampSpec[];
}

export interface PreparedForce {
  builderNames: string[];
  reason: string;
  owner: string;
  /** The buildset's reason text (reasonString with owner and reason filled in). */
  reasonText: string;
  properties: Record<string, [unknown, string]>;
  sourcestamps: SourcestampSpec[];
}

const FORM = 'Force Build Form';
const SCHEDULER = 'Scheduler';

/** Invalid force arguments: `errors` maps each field's full name to its problem (Buildbot's CollectedValidationError). */
export class ForceValidationError extends BuildmasterError {
  constructor(readonly errors: Record<string, string>) {
    super(Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join('\n'), { userError: true });
  }
}

/** Buildbot's VALID_EMAIL_ADDR, searched anywhere in the value. */
const EMAIL_ADDR = /\S+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+\.?/;

class FieldError extends Error {}

/**
 * Validate and assemble a force. `builderNameOf` resolves `builderid`; the scheduler's builderNames
 * bound what may be forced (a builderid outside them is refused too).
 */
export function prepareForce(sched: ResolvedForceScheduler, args: ForceArgs, builderNameOf: (builderid: number) => string | undefined = () => undefined): PreparedForce {
  const builderNames = computeBuilderNames(sched, args, builderNameOf);
  if (builderNames.length === 0) {
    throw new ForceValidationError({ builderNames: 'builderNames not specified or not supported' });
  }

  const kwargs: Record<string, unknown> = { ...(args.fields ?? {}) };
  if (args.reason !== undefined) kwargs[sched.reason.fullName] = args.reason;
  if (args.username !== undefined) kwargs[sched.username.fullName] = args.username;
  const extra: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args.properties ?? {})) {
    const param = sched.forceProperties.find((p) => p.name === name);
    if (param) kwargs[param.fullName] = value;
    else extra[name] = value;
  }

  const errors: Record<string, string> = {};
  const collect = <T>(param: ResolvedForceParameter, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      errors[param.fullName] = err.message;
      return undefined;
    }
  };

  const reason = collect(sched.reason, () => String(fieldValue(sched.reason, kwargs)));
  let owner = args.owner;
  if (owner === undefined || owner === 'anonymous') owner = collect(sched.username, () => String(fieldValue(sched.username, kwargs)));

  const properties: Record<string, [unknown, string]> = {};
  for (const param of sched.forceProperties) {
    const value = collect(param, () => fieldValue(param, kwargs));
    if (value !== undefined) properties[param.name] = [value, FORM];
  }
  const stamps = new Map<string, SourcestampSpec>();
  for (const cb of sched.codebaseParameters) {
    const ss: Record<string, unknown> = {};
    for (const field of cb.fields) {
      const value = collect(field, () => fieldValue(field, kwargs));
      if (value !== undefined) ss[field.name] = value;
    }
    stamps.set(cb.codebase, ss as SourcestampSpec);
  }
  if (Object.keys(errors).length > 0) throw new ForceValidationError(errors);

  for (const [name, value] of Object.entries(extra)) properties[name] = [value, FORM];
  properties.reason = [reason, FORM];
  properties.owner = [owner, FORM];
  for (const [name, value] of Object.entries(sched.properties)) properties[name] = [value, SCHEDULER];
  properties.scheduler = [sched.name, SCHEDULER];

  return {
    builderNames,
    reason: reason!,
    owner: owner!,
    reasonText: pyPercent(sched.reasonString, { owner: owner!, reason: reason! }),
    properties,
    sourcestamps: withDefaults(sched, stamps, args.sourcestamps ?? []),
  };
}

function computeBuilderNames(sched: ResolvedForceScheduler, args: ForceArgs, builderNameOf: (id: number) => string | undefined): string[] {
  // A ForceScheduler's builderNames are plain strings (its schema has no renderables).
  const names = sched.builderNames.filter((n): n is string => typeof n === 'string');
  if (args.builderNames !== undefined && args.builderNames !== null) {
    const allowed = new Set(names);
    return [...new Set(args.builderNames.filter((n) => allowed.has(n)))].sort();
  }
  if (args.builderid !== undefined && args.builderid !== null) {
    const name = builderNameOf(Number(args.builderid));
    return name !== undefined && names.includes(name) ? [name] : [];
  }
  return [...names];
}

/** Buildbot's BaseParameter.getFromKwargs and the parse rules of each parameter kind. */
function fieldValue(p: ResolvedForceParameter, kwargs: Record<string, unknown>): unknown {
  const given = kwargs[p.fullName];
  if (p.kind === 'BooleanParameter') {
    return given === undefined ? Boolean(p.default) : given === true || (Array.isArray(given) && given.length === 1 && given[0] === true);
  }
  let args = (given === undefined ? [] : Array.isArray(given) ? [...given] : [given]).filter((a) => !(typeof a === 'string' && a.trim() === ''));
  if (args.length === 0) {
    if (p.required) throw new FieldError(`'${p.label}' needs to be specified`);
    args = p.multiple ? (Array.isArray(p.default) ? [...p.default] : []) : [p.default];
  }
  for (const a of args) {
    if (p.regex && !p.regex.test(String(a))) throw new FieldError(`${p.label}:'${String(a)}' does not match pattern '${patternOf(p.regex)}'`);
    if (p.maxsize !== undefined && String(a).length > p.maxsize) throw new FieldError(`${p.label}: is too large ${String(a).length} > ${p.maxsize}`);
  }
  const values = args.map((a) => parseOne(p, a));
  const value = p.multiple ? values : values[0];
  if (value === undefined || value === null) throw new FieldError(`need ${p.fullName}: no default provided by config`);
  return value;
}

function parseOne(p: ResolvedForceParameter, a: unknown): unknown {
  switch (p.kind) {
    case 'FixedParameter':
      return p.default;
    case 'IntParameter': {
      const s = String(a).trim();
      if (!/^[-+]?\d+$/.test(s)) throw new FieldError(`invalid literal for int() with base 10: '${String(a)}'`);
      return Number.parseInt(s, 10);
    }
    case 'ChoiceStringParameter':
      if (p.strict && !(p.choices ?? []).includes(String(a))) {
        throw new FieldError(`'${String(a)}' does not belong to list of available choices '${JSON.stringify(p.choices ?? [])}'`);
      }
      return String(a);
    case 'UserNameParameter': {
      const s = String(a);
      if (!s && !p.required) return s;
      if (p.need_email && !EMAIL_ADDR.test(s)) throw new FieldError(`${p.name}: please fill in email address in the form 'User <email@email.com>'`);
      return s;
    }
    default:
      return typeof a === 'string' ? a : String(a);
  }
}

/** The user's pattern without the `^(?:…)` the config loader wraps around a string regex. */
function patternOf(re: RegExp): string {
  const m = /^\^\(\?:([\s\S]*)\)$/.exec(re.source);
  return m ? m[1] : re.source;
}

/**
 * Buildbot's addBuildsetForSourceStampsWithDefaults: one stamp per configured codebase (its
 * defaults, then the form's values), plus stamps given for other codebases.
 */
function withDefaults(sched: ResolvedForceScheduler, form: Map<string, SourcestampSpec>, given: SourcestampSpec[]): SourcestampSpec[] {
  const byCodebase = new Map<string, SourcestampSpec>();
  for (const ss of given) {
    const cb = ss.codebase ?? '';
    if (byCodebase.has(cb)) throw new ForceValidationError({ sourcestamps: `multiple sourcestamps with the same codebase '${cb}'` });
    byCodebase.set(cb, ss);
  }
  const out: SourcestampSpec[] = [];
  for (const [codebase, defaults] of Object.entries(sched.codebases)) {
    out.push({
      repository: defaults.repository ?? '',
      branch: defaults.branch ?? null,
      revision: defaults.revision ?? null,
      project: '',
      ...(form.get(codebase) ?? {}),
      ...(byCodebase.get(codebase) ?? {}),
      codebase,
    } as SourcestampSpec);
  }
  for (const [codebase, ss] of byCodebase) {
    if (codebase in sched.codebases) continue;
    out.push({ repository: '', branch: null, revision: null, project: '', ...ss, codebase } as SourcestampSpec);
  }
  return out;
}

/** Python's `fmt % {…}` for the `%(name)s` and `%%` a reasonString uses. */
function pyPercent(fmt: string, values: Record<string, string>): string {
  return fmt.replace(/%\((\w+)\)s|%%/g, (m, name: string | undefined) => (name === undefined ? '%' : String(values[name] ?? '')));
}
