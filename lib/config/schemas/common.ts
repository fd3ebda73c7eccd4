/**
 * Zod building blocks shared by the config schemas: strict objects with "did you mean" for unknown
 * options, renderable values, durations, config objects dispatched on `kind`, and one error map that
 * words every message the same way.
 */
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from '../duration.js';
import { interpolateErrors } from '../interpolate.js';
import { isPlainObject, isRenderable, type AnyRenderable } from '../renderables.js';
import { closest } from '../suggest.js';

const ARTICLES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  function: 'a function',
  record: 'an object',
};

/** A short rendering of a wrong value for messages: `5`, `"abc"`, `an array`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  const kind = (v as { kind?: unknown }).kind;
  if (typeof kind === 'string') return withArticle(kind);
  return isPlainObject(v) ? 'an object' : withArticle((v as object).constructor?.name ?? 'value');
}

export function withArticle(noun: string): string {
  return `${/^[aeiouAEIOU]/.test(noun) ? 'an' : 'a'} ${noun}`;
}

export const MISSING = 'missing required option';

/** The one error map: every zod issue becomes a short lower-case message. */
export function errorMap(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return MISSING;
      const expected = ARTICLES[iss.expected] ?? iss.expected;
      return `expected ${expected}, got ${describeValue(iss.input)}`;
    }
    case 'too_small':
      if (iss.origin === 'array') return `must have at least ${String(iss.minimum)} item${iss.minimum === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return 'must not be empty';
      return `must be ${iss.inclusive === false ? 'greater than' : 'at least'} ${String(iss.minimum)}, got ${describeValue(iss.input)}`;
    case 'too_big':
      if (iss.origin === 'string') return `must be at most ${String(iss.maximum)} characters`;
      return `must be ${iss.inclusive === false ? 'less than' : 'at most'} ${String(iss.maximum)}, got ${describeValue(iss.input)}`;
    case 'invalid_value':
      return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${describeValue(iss.input)}`;
    default:
      return undefined;
  }
}

export const PARSE_OPTIONS = { error: errorMap, reportInput: true } as const;

type Ctx = z.core.$RefinementCtx;

/** Parses `value` with `schema` and copies its issues into `ctx` (relative paths preserved). */
export function forward<T extends z.ZodType>(
  schema: T,
  value: unknown,
  ctx: Ctx,
  orWhat?: string,
): z.output<T> | typeof z.NEVER {
  const r = schema.safeParse(value, PARSE_OPTIONS);
  if (r.success) return r.data;
  for (const iss of r.error.issues) {
    let message = iss.message;
    if (orWhat && iss.path.length === 0 && iss.code === 'invalid_type' && value !== undefined) {
      message = `expected ${ARTICLES[iss.expected] ?? iss.expected} or ${orWhat}, got ${describeValue(value)}`;
    }
    ctx.addIssue({ code: 'custom', message, path: iss.path as PathKey[], input: (iss as { input?: unknown }).input });
  }
  return z.NEVER;
}
type PathKey = string | number;

/**
 * A strict object: unknown keys are problems with a suggestion (`unknown option (did you mean
 * "workernames"?)`), reported together with every other problem of the object.
 */
export function obj<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape);
  return z.looseObject(shape).superRefine(
    (value, ctx) => {
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        const guess = closest(key, known);
        ctx.addIssue({
          code: 'custom',
          message: guess ? `unknown option (did you mean "${guess}"?)` : 'unknown option',
          path: [key],
          input: value[key],
        });
      }
    },
    { when: () => true },
  );
}

export const str = () => z.string();
export const nonEmpty = () => z.string().min(1);
export const bool = () => z.boolean();
export const count = () => z.number().int().min(0);
export const positiveInt = () => z.number().int().min(1);

export type AnyFn = (...args: any[]) => any;
export const fn = () => z.custom<AnyFn>((v) => typeof v === 'function', { error: (iss) => `expected a function, got ${describeValue(iss.input)}` });

/** A TCP port; `allowZero` for a port we listen on, where 0 means "pick a free one". */
export const port = (opts: { allowZero?: boolean } = {}) =>
  z.unknown().transform((v, ctx) => {
    const min = opts.allowZero ? 0 : 1;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 65535) return v;
    const message = typeof v === 'number' ? `port out of range: ${v} (expected ${min}-65535)` : `expected a port number, got ${describeValue(v)}`;
    ctx.addIssue({ code: 'custom', message, input: v });
    return z.NEVER;
  });

/** Seconds, from a number or a string like '30d'; the output is a number of seconds. */
export const duration = () =>
  z.unknown().transform((v, ctx) => {
    const seconds = parseDuration(v);
    if (seconds !== undefined) return seconds;
    ctx.addIssue({ code: 'custom', message: `bad duration ${describeValue(v)} (${DURATION_HINT})`, input: v });
    return z.NEVER;
  });

export const record = <T extends z.ZodType>(value: T) => z.record(z.string(), value);
export const stringRecord = () => record(z.string());

/** A renderable object (Interpolate, Property, Secret, Transform), checked as far as can be at load. */
export function checkRenderable(v: AnyRenderable, ctx: Ctx): void {
  if (v.kind === 'Interpolate') {
    if (typeof v.fmt !== 'string') {
      ctx.addIssue({ code: 'custom', message: `Interpolate: expected a format string, got ${describeValue(v.fmt)}`, input: v });
      return;
    }
    for (const e of interpolateErrors(v.fmt)) ctx.addIssue({ code: 'custom', message: `Interpolate: ${e}`, input: v });
  } else if ((v.kind === 'Property' || v.kind === 'Secret') && (typeof v.name !== 'string' || !v.name)) {
    ctx.addIssue({ code: 'custom', message: `${v.kind}: expected a name, got ${describeValue(v.name)}`, input: v });
  } else if (v.kind === 'Transform' && typeof v.fn !== 'function') {
    ctx.addIssue({ code: 'custom', message: `Transform: expected a function, got ${describeValue(v.fn)}`, input: v });
  }
}

/** `inner`, or a renderable that yields it at build time. */
export function renderable<T extends z.ZodType>(inner: T) {
  return z.unknown().transform((v, ctx): z.output<T> | AnyRenderable => {
    if (isRenderable(v)) {
      checkRenderable(v, ctx);
      return v;
    }
    return forward(inner, v, ctx, 'a renderable');
  });
}

/**
 * A config object made with `new` (a step, scheduler, parameter…): dispatched on its `kind` to the
 * schema of its options. `what` names the family for messages ("a step").
 */
export function instance<S extends Record<string, z.ZodType>>(schemas: S, what: string, example: string) {
  return z.unknown().transform((v, ctx): z.output<S[keyof S]> => {
    const kind = typeof v === 'object' && v !== null ? (v as { kind?: unknown }).kind : undefined;
    if (typeof kind !== 'string' || !(kind in schemas)) {
      const got = typeof kind === 'string' ? withArticle(kind) : describeValue(v);
      ctx.addIssue({ code: 'custom', message: `expected ${what} (${example}), got ${got}`, input: v });
      return z.NEVER;
    }
    return forward(schemas[kind]!, (v as { options?: unknown }).options ?? {}, ctx) as z.output<S[keyof S]>;
  });
}
