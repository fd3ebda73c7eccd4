import { parseInterpolate, type InterpolateSubstitution, type ParsedInterpolate } from '../config/interpolate.js';
import { isPlainObject } from '../config/renderables.js';
import { RenderError } from '../errors/RenderError.js';
import type { Properties } from './properties.js';

/**
 * Rendering of the config's renderables (Interpolate, Property, Secret, Transform) for one build,
 * with Buildbot's semantics (process/properties.py). Arrays and plain objects are rendered
 * element by element; any other object is returned as is. Values are formatted the way Python's
 * `%` would (`True`, `None`, `['a', 'b']`), so strings come out as they do under Buildbot.
 */

export interface SourceStampLike {
  codebase: string;
  [attr: string]: unknown;
}

export interface RenderContext {
  properties: Properties;
  sourcestamps?: readonly SourceStampLike[];
  /** Secret lookup; undefined = not found. */
  secrets?: (name: string) => string | undefined | Promise<string | undefined>;
  /** Worker info for `%(worker:x)s` (os, hostname, …). */
  worker?: Readonly<Record<string, unknown>>;
  /** Told every secret value used, so it can be masked in logs (SecretMasker.add). */
  onSecret?: (name: string, value: string) => void;
}

export { RenderError };

/** Render `value` for a build: renderables are replaced by their values, recursively. */
export async function render(value: unknown, ctx: RenderContext): Promise<unknown> {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) out.push(await render(v, ctx));
    return out;
  }
  if (typeof value !== 'object' || value === null) return value;
  switch ((value as { kind?: unknown }).kind) {
    case 'Interpolate': {
      const r = value as { fmt: string; args?: unknown[]; kwargs?: Record<string, unknown> };
      return renderInterpolate(r.fmt, r.args ?? [], r.kwargs ?? {}, ctx);
    }
    case 'Property':
      return renderProperty(value as { name: string; default?: unknown; defaultWhenFalse?: boolean }, ctx);
    case 'Secret':
      return lookupSecret((value as { name: string }).name, ctx);
    case 'Transform': {
      const t = value as { fn: unknown; args?: unknown[]; kwargs?: Record<string, unknown> };
      const fn = await render(t.fn, ctx);
      if (typeof fn !== 'function') throw new RenderError('Transform needs a function');
      const args = (await render(t.args ?? [], ctx)) as unknown[];
      const kwargs = (await render(t.kwargs ?? {}, ctx)) as Record<string, unknown>;
      return await (Object.keys(kwargs).length ? fn(...args, kwargs) : fn(...args));
    }
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = await render(v, ctx);
  return out;
}

async function renderProperty(p: { name: string; default?: unknown; defaultWhenFalse?: boolean }, ctx: RenderContext): Promise<unknown> {
  const props = ctx.properties;
  const fallback = async (): Promise<unknown> => (p.default === undefined ? null : render(p.default, ctx));
  if (p.defaultWhenFalse ?? true) {
    const v = await render(props.getProperty(p.name, null), ctx);
    return pyTruthy(v) ? v : fallback();
  }
  return props.hasProperty(p.name) ? render(props.getProperty(p.name), ctx) : fallback();
}

async function lookupSecret(name: string, ctx: RenderContext): Promise<string> {
  if (!ctx.secrets) throw new RenderError(`no secrets provider is configured (needed for secret '${name}')`, { userError: true });
  const value = await ctx.secrets(name);
  if (value === undefined || value === null) {
    throw new RenderError(`secret '${name}' is not found in any provider`, { userError: true });
  }
  ctx.onSecret?.(name, value);
  return value;
}

const parsed = new Map<string, ParsedInterpolate>();

function parse(fmt: string): ParsedInterpolate {
  let p = parsed.get(fmt);
  if (!p) {
    p = parseInterpolate(fmt);
    parsed.set(fmt, p);
  }
  if (p.errors.length) throw new RenderError(`invalid Interpolate "${fmt}": ${p.errors.join('; ')}`, { userError: true });
  return p;
}

async function renderInterpolate(fmt: string, args: readonly unknown[], kwargs: Record<string, unknown>, ctx: RenderContext): Promise<string> {
  const { parts } = parse(fmt);
  const positional = parts.filter((p) => p.type === 'positional').length;
  if (args.length && parts.some((p) => p.type === 'substitution')) {
    throw new RenderError(`Interpolate "${fmt}" takes positional arguments, so it cannot use %(…)s`, { userError: true });
  }
  if (positional !== args.length) {
    throw new RenderError(
      positional > args.length
        ? `not enough arguments for Interpolate "${fmt}" (${positional} %s, ${args.length} given)`
        : `not all arguments converted in Interpolate "${fmt}" (${positional} %s, ${args.length} given)`,
      { userError: true },
    );
  }
  const rendered = (await render(args, ctx)) as unknown[];
  let next = 0;
  let out = '';
  for (const part of parts) {
    if (part.type === 'text') out += part.text;
    else if (part.type === 'positional') out += pyFormat(part.spec, rendered[next++], fmt);
    else out += pyFormat(part.spec, await lookup(part.sub, kwargs, ctx), fmt);
  }
  return out;
}

/** Where a selector looks names up. */
interface Dict {
  has(name: string): boolean;
  get(name: string): Promise<unknown>;
}

function dictFor(sub: InterpolateSubstitution, kwargs: Record<string, unknown>, ctx: RenderContext): Dict {
  const own = (o: object | undefined, name: string) => o !== undefined && Object.prototype.hasOwnProperty.call(o, name);
  switch (sub.selector) {
    case 'prop':
      return { has: (n) => ctx.properties.hasProperty(n), get: (n) => render(ctx.properties.getProperty(n), ctx) };
    case 'kw':
      return { has: (n) => own(kwargs, n), get: (n) => render(kwargs[n], ctx) };
    case 'worker':
      return { has: (n) => own(ctx.worker, n), get: async (n) => ctx.worker?.[n] };
    case 'secret':
      // Every secret name "exists": a missing one is an error, never a default.
      return { has: () => true, get: (n) => lookupSecret(n, ctx) };
    case 'src': {
      const ss = ctx.sourcestamps?.find((s) => s.codebase === (sub.codebase ?? '')) ?? {};
      return { has: (n) => own(ss, n), get: async (n) => (ss as Record<string, unknown>)[n] };
    }
  }
}

/** Buildbot's _Lookup for one `%(selector:name:…)s`; replacements render lazily, as nested Interpolates. */
async function lookup(sub: InterpolateSubstitution, kwargs: Record<string, unknown>, ctx: RenderContext): Promise<unknown> {
  const dict = dictFor(sub, kwargs, ctx);
  const nested = (f: string | undefined) => () => renderInterpolate(f ?? '', [], kwargs, ctx);
  let dflt: () => Promise<unknown>;
  let hasKey: (() => Promise<unknown>) | undefined;
  let defaultWhenFalse = false;
  switch (sub.op) {
    case '-':
      dflt = nested(sub.replacement);
      break;
    case '~':
      dflt = nested(sub.replacement);
      defaultWhenFalse = true;
      break;
    case '+':
      hasKey = nested(sub.replacement);
      dflt = async () => '';
      break;
    case '?':
    case '#?':
      hasKey = nested(sub.truePart);
      dflt = nested(sub.falsePart);
      defaultWhenFalse = sub.op === '#?';
      break;
  }
  let rv: unknown;
  if (!dict.has(sub.name)) rv = await dflt();
  else if (defaultWhenFalse) {
    rv = await dict.get(sub.name);
    if (!pyTruthy(rv)) rv = await dflt();
    else if (hasKey) rv = await hasKey();
  } else if (hasKey) rv = await hasKey();
  else rv = await dict.get(sub.name);
  return rv === null || rv === undefined ? '' : rv;
}

/** Python truthiness: None, False, 0, '', [] and {} are false. */
export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '' || Number.isNaN(v)) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** Python's str() of a JSON-like value. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  return pyRepr(v);
}

/** Python's repr() of a JSON-like value. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? pyNumber(v) : String(v);
  if (typeof v === 'string') return pyStringRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isPlainObject(v)) return `{${Object.entries(v).map(([k, x]) => `${pyStringRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

function pyNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return String(v);
}

function pyStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

// flags, width, precision, (ignored) length modifier, conversion — as lib/config/interpolate.ts accepts.
const SPEC_PARTS = /^([#0\- +]*)(\d+|\*)?(?:\.(\d+|\*))?[hlL]?([diouxXeEfFgGcrsa])$/;

/** Python's `%` formatting of one value by its conversion spec (e.g. `s`, `-10s`, `05d`, `.2f`). */
export function pyFormat(spec: string, value: unknown, fmt = spec): string {
  const m = SPEC_PARTS.exec(spec);
  if (!m || m[2] === '*' || m[3] === '*') throw new RenderError(`unsupported format "%${spec}" in "${fmt}"`, { userError: true });
  const [, flags, widthText, precText, conv] = m;
  const prec = precText === undefined ? undefined : Number(precText);
  let body: string;
  let numeric = false;
  switch (conv) {
    case 's':
      body = pyStr(value);
      if (prec !== undefined) body = body.slice(0, prec);
      break;
    case 'r':
    case 'a':
      body = pyRepr(value);
      if (prec !== undefined) body = body.slice(0, prec);
      break;
    case 'c':
      body = typeof value === 'number' ? String.fromCodePoint(value) : pyStr(value).slice(0, 1);
      break;
    default: {
      numeric = true;
      const n = typeof value === 'boolean' ? Number(value) : value;
      if (typeof n !== 'number') {
        throw new RenderError(`%${conv} format: a number is required, not ${pyTypeName(value)} (in "${fmt}")`, { userError: true });
      }
      body = formatNumber(n, conv, prec, flags.includes('#'));
      if (n >= 0 && flags.includes('+')) body = `+${body}`;
      else if (n >= 0 && flags.includes(' ')) body = ` ${body}`;
    }
  }
  const width = widthText === undefined ? 0 : Number(widthText);
  if (body.length >= width) return body;
  if (flags.includes('-')) return body.padEnd(width);
  if (numeric && flags.includes('0')) {
    const sign = /^[+\- ]/.test(body) ? body[0] : '';
    return sign + body.slice(sign.length).padStart(width - sign.length, '0');
  }
  return body.padStart(width);
}

function formatNumber(n: number, conv: string, prec: number | undefined, alt: boolean): string {
  const int = Math.trunc(n);
  switch (conv) {
    case 'd':
    case 'i':
    case 'u':
      return String(int);
    case 'x':
      return (int < 0 ? '-' : '') + (alt ? '0x' : '') + Math.abs(int).toString(16);
    case 'X':
      return (int < 0 ? '-' : '') + (alt ? '0X' : '') + Math.abs(int).toString(16).toUpperCase();
    case 'o':
      return (int < 0 ? '-' : '') + (alt ? '0o' : '') + Math.abs(int).toString(8);
    case 'f':
    case 'F':
      return n.toFixed(prec ?? 6);
    case 'e':
    case 'E': {
      const s = n.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
      return conv === 'E' ? s.toUpperCase() : s;
    }
    default: {
      // g/G: shortest of %e and %f at the given significant digits, trailing zeros removed.
      const p = prec === 0 ? 1 : (prec ?? 6);
      const exp = n === 0 ? 0 : Math.floor(Math.log10(Math.abs(n)));
      const s = exp < -4 || exp >= p ? n.toExponential(p - 1).replace(/e([+-])(\d)$/, 'e$10$2') : n.toFixed(Math.max(0, p - 1 - exp));
      let [mantissa, exponent] = s.split('e');
      if (!alt && mantissa.includes('.')) mantissa = mantissa.replace(/\.?0+$/, '');
      const out = exponent === undefined ? mantissa : `${mantissa}e${exponent}`;
      return conv === 'G' ? out.toUpperCase() : out;
    }
  }
}

function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'dict' : typeof v;
}
