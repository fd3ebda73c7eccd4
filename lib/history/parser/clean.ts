/**
 * Line cleaning shared by every family: what a person would see on a terminal, minus the prefixes
 * harnesses add. Each step is a cheap check first (includes/charCode) so clean lines cost little.
 */

/** Error text is cut to this many characters (a 1 MB minified line is not something to store). */
export const MAX_TEXT_CHARS = 2000;
/** Raw lines are cut to this before any regex runs, so a huge line costs one slice, not a scan per rule. */
const MAX_RAW_CHARS = 16 * 1024;

// Most lines have none of these, and one scan says so.
const SPECIAL = /[\r\0\x1b\x9b]/;
// CSI (colours, cursor moves), OSC (titles, hyperlinks) and two-byte escapes.
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]/g;

// Timestamp and harness prefixes, possibly stacked: Taskcluster's `[task 2026-…Z] ` (also
// `[taskcluster …]`, `[vcs …]`, `[fetches …]`), `[2026-11-21T10:00:00.123Z] ` (Jenkins timestamper),
// `2026-11-21T10:00:00.1234567Z ` (GitHub Actions), and a bare `12:00:01 ` / `12:00:01.123 `.
const TIME_PREFIX =
  /^(?:\[[a-z][\w-]* \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\] |\[\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\] |\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z |\[?\d\d:\d\d:\d\d(?:[.,]\d{1,6})?\]? )+/;
// mozharness puts its level after the time: `12:00:01     INFO - `. Info-ish levels are dropped;
// error levels are kept (as `ERROR - …`) because the level is what makes the line an error.
const MOZHARNESS_LEVEL = /^ +(?:(?:INFO|DEBUG|WARNING) - |(?=(?:ERROR|CRITICAL|FATAL) - ))/;

/** The visible text of one raw line (without its `\n`). */
export function cleanLine(raw: string): string {
  let s = raw;
  if (s.length > 0 && s.charCodeAt(s.length - 1) === 13) s = s.slice(0, -1); // CRLF
  if (SPECIAL.test(s)) {
    // A lone CR returns the cursor: a progress bar's last segment is what stayed on screen.
    const cr = s.lastIndexOf('\r');
    if (cr >= 0) s = s.slice(cr + 1);
    if (s.length > MAX_RAW_CHARS) s = s.slice(0, MAX_RAW_CHARS);
    if (s.includes('\0')) s = s.replaceAll('\0', '');
    if (s.includes('\x1b') || s.includes('\x9b')) s = s.replace(ANSI, '');
  } else if (s.length > MAX_RAW_CHARS) {
    s = s.slice(0, MAX_RAW_CHARS);
  }
  const c0 = s.charCodeAt(0);
  if (c0 === 91 /* [ */ || (c0 >= 48 && c0 <= 57) /* digit */) {
    const m = TIME_PREFIX.exec(s);
    if (m) {
      s = s.slice(m[0].length);
      if (s.charCodeAt(0) === 32) s = s.replace(MOZHARNESS_LEVEL, '');
    }
  }
  return s;
}

/** The text stored for an error line: cleaned, without trailing blanks, cut when very long. */
export function errorText(clean: string): string {
  const t = clean.trimEnd();
  return t.length > MAX_TEXT_CHARS ? `${t.slice(0, MAX_TEXT_CHARS)}…` : t;
}
