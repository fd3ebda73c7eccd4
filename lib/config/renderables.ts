/**
 * Renderables: values computed per build from its properties (Buildbot's util.Interpolate,
 * util.Property, util.Secret, util.Transform). Here they only record what the user wrote; rendering
 * happens in lib/process. Code switches on `kind`, never `instanceof`: a config may load its own copy
 * of this module.
 */

export class Interpolate {
  readonly kind = 'Interpolate' as const;
  readonly fmt: string;
  /** Positional substitutions (`%s`), as in `new Interpolate('%s-%s', a, b)`. */
  readonly args: unknown[];
  /** Keyword substitutions (`%(kw:x)s`), as in `new Interpolate('%(kw:x)s', { x })`. */
  readonly kwargs: Record<string, unknown>;

  /**
   * `new Interpolate(fmt, { kw })` or `new Interpolate(fmt, ...positional)`. Buildbot takes either
   * keywords or positional values, never both; a single plain object is the keywords.
   */
  constructor(fmt: string, ...rest: unknown[]) {
    this.fmt = fmt;
    if (rest.length === 1 && isPlainObject(rest[0]) && !isRenderable(rest[0])) {
      this.args = [];
      this.kwargs = { ...(rest[0] as Record<string, unknown>) };
    } else {
      this.args = rest;
      this.kwargs = {};
    }
  }
}

export class Property {
  readonly kind = 'Property' as const;
  readonly name: string;
  readonly default?: unknown;
  /** Buildbot's default: a property that is set but false-ish ('' , 0, false) also takes the default. */
  readonly defaultWhenFalse: boolean;

  constructor(name: string, defaultValue?: unknown, options: { defaultWhenFalse?: boolean } = {}) {
    this.name = name;
    if (defaultValue !== undefined) this.default = defaultValue;
    this.defaultWhenFalse = options.defaultWhenFalse ?? true;
  }
}

export class Secret {
  readonly kind = 'Secret' as const;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }
}

/** A function applied to rendered arguments: `new Transform((a, b) => a + b, prop1, prop2)`. */
export class Transform {
  readonly kind = 'Transform' as const;
  readonly fn: (...args: any[]) => unknown;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;

  constructor(fn: (...args: any[]) => unknown, ...args: unknown[]) {
    this.fn = fn;
    this.args = args;
    this.kwargs = {};
  }
}

export type AnyRenderable = Interpolate | Property | Secret | Transform;

/** A value that may be given literally or rendered per build. */
export type Renderable<T> = T | AnyRenderable;

const RENDERABLE_KINDS: ReadonlySet<string> = new Set(['Interpolate', 'Property', 'Secret', 'Transform']);

export function isRenderable(x: unknown): x is AnyRenderable {
  return typeof x === 'object' && x !== null && RENDERABLE_KINDS.has((x as { kind?: unknown }).kind as string);
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}
