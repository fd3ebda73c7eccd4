import { createHash } from 'node:crypto';

/**
 * Error line → signature: the parts that differ between two occurrences of the same failure
 * (where the checkout lives, line numbers, addresses, times, temp names, pids) are replaced by
 * placeholders, so the same failure on another worker, revision or day hashes the same.
 *
 * Order matters: URLs and timestamps before paths and numbers (they contain both), hex before
 * numbers (a hex run may start with digits), temp names before paths lose their directories.
 */
const RULES: readonly (readonly [RegExp, string | ((m: string, ...g: string[]) => string)])[] = [
  // ANSI escapes (the parser strips them; lines from elsewhere may still carry them).
  [/\x1b\[[0-9;?]*[ -/]*[@-~]/g, ''],
  // URLs keep only the host: the path is usually a build-specific artifact.
  [/\b([a-z][a-z0-9+.-]*):\/\/([^\s/'"<>]+)[^\s'"<>]*/gi, (_m, _scheme: string, host: string) => `<url ${host.replace(/:\d+$/, '').toLowerCase()}>`],
  // ISO and common log timestamps, then bare clock times.
  [/\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/g, '<time>'],
  [/\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b/g, '<time>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  // Paths (absolute, relative with a separator, Windows) keep their last component.
  [/(?:[A-Za-z]:)?(?:[\w.@+~-]*[\\/])+([\w.@+~-]+)/g, (_m, base: string) => base],
  // Temp names: mkstemp/tempfile style and pytest-like tmp dirs.
  [/\btmp[\w-]{4,}\b/gi, '<tmp>'],
  [/\b\w*[A-Za-z0-9]{6}\.tmp\b/g, '<tmp>'],
  // Addresses and hashes: 0x…, and long runs of hex that hold both a digit and a letter.
  [/\b0x[0-9a-f]+\b/gi, '<addr>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b/gi, '<hex>'],
  // Numbers (pids, line and column numbers, sizes, durations) not glued to a word before them:
  // x86_64, sha256, test_1 and utf8 stay as they are.
  [/(?<![\w<])\d+(?:[.,]\d+)*/g, 'N'],
  [/\s+/g, ' '],
];

/** The longest signature kept (characters); longer lines are cut, the hash covers what is kept. */
export const MAX_SIGNATURE_LENGTH = 500;

/** The normalised form of an error line: the text two occurrences of one failure have in common. */
export function normalizeErrorLine(text: string): string {
  let s = text;
  for (const [re, replacement] of RULES) s = s.replace(re, replacement as string);
  s = s.trim();
  const chars = Array.from(s);
  return chars.length > MAX_SIGNATURE_LENGTH ? chars.slice(0, MAX_SIGNATURE_LENGTH).join('') : s;
}

/** sha1 hex of a normalised line: the signature's key. */
export function signatureHash(normalized: string): string {
  return createHash('sha1').update(normalized, 'utf8').digest('hex');
}
