/**
 * Buildbot's identifiers (util/identifiers.py): log slugs, step names. Lengths count code points,
 * as Python does.
 */

// Letters outside ASCII are allowed as they are (Buildbot: \u00a0-\U0010ffff).
const IDENT = /^[a-zA-Z\u00a0-\u{10ffff}_-][a-zA-Z0-9\u00a0-\u{10ffff}_-]*$/u;
const INITIAL = /^[^a-zA-Z_-]/u;
const SUBSEQUENT = /[^a-zA-Z0-9_-]/gu;
const TRAILING_DIGITS = /_([0-9]+)$/;

function codePoints(s: string): string[] {
  return Array.from(s);
}

export function isIdentifier(maxLength: number, s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && IDENT.test(s) && codePoints(s).length <= maxLength;
}

/**
 * `s` itself when it is already an identifier of at most `maxLength`; otherwise cut to
 * `maxLength` and every character outside [A-Za-z0-9_-] (even a non-ASCII letter) made `_`.
 */
export function forceIdentifier(maxLength: number, s: string): string {
  if (isIdentifier(maxLength, s)) return s;
  const cut = codePoints(s).slice(0, maxLength).join('');
  return cut.replace(INITIAL, '_').replace(SUBSEQUENT, '_');
}

/** `name` → `name_2`, `name_2` → `name_3`, cut at the right to stay within `maxLength`. */
export function incrementIdentifier(maxLength: number, ident: string): string {
  let base = ident;
  let num = 1;
  const m = TRAILING_DIGITS.exec(ident);
  if (m) {
    base = ident.slice(0, m.index);
    num = parseInt(m[1]!, 10);
  }
  const suffix = `_${num + 1}`;
  if (suffix.length > maxLength) throw new RangeError('cannot generate a larger identifier');
  return codePoints(base).slice(0, maxLength - suffix.length).join('') + suffix;
}
