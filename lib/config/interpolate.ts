/**
 * Parser for Buildbot's Interpolate format strings (process/properties.py): Python %-formatting
 * whose mapping keys are `selector:argument[:replacement]`, e.g. `%(prop:branch:-main)s`,
 * `%(src::revision)s`, `%(kw:x)s`, `%(secret:token)s`, `%(worker:os)s`, `%(prop:x:?|yes|no)s`.
 * Used to reject bad strings at load time; the renderer in lib/process walks the same parts.
 */

export type InterpolateSelector = 'prop' | 'src' | 'kw' | 'secret' | 'worker';

/**
 * How a missing or false value is handled (Buildbot's `:-`, `:~`, `:+`, `:?`, `:#?`):
 * `-` replacement when unset; `~` replacement when unset or false; `+` replacement when set, else '';
 * `?` truePart when set, else falsePart; `#?` the same, with false counting as unset.
 */
export type InterpolateOp = '-' | '~' | '+' | '?' | '#?';

export interface InterpolateSubstitution {
  /** The whole key as written, e.g. `prop:branch:-main`. */
  key: string;
  selector: InterpolateSelector;
  /** Property, keyword, secret or worker-info name; for `src`, the attribute (`revision`, `branch`…). */
  name: string;
  /** For `src` only: the codebase ('' for the default codebase). */
  codebase?: string;
  op: InterpolateOp;
  /** For `-`, `~`, `+`: a format string itself (may be ''). */
  replacement?: string;
  /** For `?` and `#?`: format strings. */
  truePart?: string;
  falsePart?: string;
}

export type InterpolatePart =
  | { type: 'text'; text: string }
  | { type: 'substitution'; sub: InterpolateSubstitution; spec: string }
  | { type: 'positional'; spec: string };

export interface ParsedInterpolate {
  parts: InterpolatePart[];
  errors: string[];
}

const IDENTIFIER = /^[\w.-]*$/;
const SELECTORS: readonly InterpolateSelector[] = ['prop', 'src', 'kw', 'secret', 'worker'];
// Python's conversion spec after `%` or `%(key)`: flags, width, precision, length, conversion.
const SPEC = /^[#0\- +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlL]?[diouxXeEfFgGcrsa]/;

export function parseInterpolate(fmt: string): ParsedInterpolate {
  const parts: InterpolatePart[] = [];
  const errors: string[] = [];
  let text = '';
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c !== '%') {
      text += c;
      i++;
      continue;
    }
    if (fmt[i + 1] === '%') {
      text += '%';
      i += 2;
      continue;
    }
    if (text) parts.push({ type: 'text', text });
    text = '';
    i++;
    let key: string | undefined;
    if (fmt[i] === '(') {
      // Python matches the closing parenthesis by counting, so keys may contain balanced ones.
      let depth = 1;
      let j = i + 1;
      for (; j < fmt.length && depth > 0; j++) {
        if (fmt[j] === '(') depth++;
        else if (fmt[j] === ')') depth--;
      }
      if (depth > 0) {
        errors.push(`unbalanced parenthesis in "${fmt}"`);
        return { parts, errors };
      }
      key = fmt.slice(i + 1, j - 1);
      i = j;
    }
    const spec = SPEC.exec(fmt.slice(i))?.[0];
    if (!spec) {
      errors.push(`incomplete format after "%${key === undefined ? '' : `(${key})`}" in "${fmt}"`);
      return { parts, errors };
    }
    i += spec.length;
    if (key === undefined) {
      parts.push({ type: 'positional', spec });
    } else {
      const sub = parseSubstitution(key, errors);
      if (sub) parts.push({ type: 'substitution', sub, spec });
    }
  }
  if (text) parts.push({ type: 'text', text });
  if (parts.some((p) => p.type === 'positional') && parts.some((p) => p.type === 'substitution')) {
    errors.push(`mixes %s and %(...)s substitutions in "${fmt}"`);
  }
  return { parts, errors };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const k = s.indexOf(sep);
  return k < 0 ? [s, undefined] : [s.slice(0, k), s.slice(k + 1)];
}

function parseSubstitution(key: string, errors: string[]): InterpolateSubstitution | undefined {
  const [selector, arg] = splitOnce(key, ':');
  if (arg === undefined) {
    errors.push(`invalid substitution without selector '${key}'`);
    return undefined;
  }
  if (!(SELECTORS as readonly string[]).includes(selector)) {
    errors.push(`invalid selector '${selector}' (expected one of ${SELECTORS.join(', ')})`);
    return undefined;
  }
  let name: string;
  let codebase: string | undefined;
  let repl: string | undefined;
  if (selector === 'src') {
    const [cb, rest] = splitOnce(arg, ':');
    if (rest === undefined) {
      errors.push(`must specify both codebase and attribute for src Interpolation '${arg}'`);
      return undefined;
    }
    codebase = cb;
    [name, repl] = splitOnce(rest, ':');
    if (!IDENTIFIER.test(codebase)) errors.push(`codebase must be alphanumeric for src Interpolation '${arg}'`);
    if (!IDENTIFIER.test(name)) errors.push(`attribute must be alphanumeric for src Interpolation '${arg}'`);
  } else {
    [name, repl] = splitOnce(arg, ':');
    if ((selector === 'prop' || selector === 'kw') && !IDENTIFIER.test(name)) {
      errors.push(`${selector === 'prop' ? 'property name' : 'keyword'} must be alphanumeric in '${key}'`);
    }
  }
  const sub: InterpolateSubstitution = { key, selector: selector as InterpolateSelector, name, op: '-', ...(codebase !== undefined ? { codebase } : {}) };
  if (repl === undefined) return { ...sub, replacement: '' };
  for (const op of ['-', '~', '+', '#?', '?'] as const) {
    if (!repl.startsWith(op)) continue;
    const tail = repl.slice(op.length);
    if (op !== '?' && op !== '#?') return { ...sub, op, replacement: tail };
    const ternary = splitTernary(tail);
    if (typeof ternary === 'string') {
      errors.push(ternary);
      return undefined;
    }
    return { ...sub, op, truePart: ternary[0], falsePart: ternary[1] };
  }
  errors.push(`invalid default type '${repl[0] ?? ''}' in '${key}'`);
  return undefined;
}

/** `|yes|no` → ['yes', 'no']: the first character is the delimiter, parentheses nest. */
function splitTernary(tail: string): [string, string] | string {
  const delim = tail[0];
  if (delim === undefined || delim === '(') return `invalid ternary delimiter '${delim ?? ''}'`;
  const body = tail.slice(1);
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) break;
    if (depth === 0 && c === delim) return [body.slice(0, i), body.slice(i + 1)];
  }
  return `invalid ternary expression '${body}' with delimiter '${delim}'`;
}

/** Every error in a format string and the format strings nested in its replacements. */
export function interpolateErrors(fmt: string): string[] {
  const { parts, errors } = parseInterpolate(fmt);
  for (const p of parts) {
    if (p.type !== 'substitution') continue;
    for (const nested of [p.sub.replacement, p.sub.truePart, p.sub.falsePart]) {
      if (nested) errors.push(...interpolateErrors(nested));
    }
  }
  return errors;
}
