/**
 * TAP (Test Anything Protocol, versions 12–14) as prove, node:test, tap and pytest-tap print it:
 * `ok N - description`, `not ok N description # TODO|SKIP reason` (`\#` escapes a `#`), plans,
 * YAML diagnostics (`duration_ms`, and `file`, `line`, `message` as tapWriter.ts writes them), and indented subtests (`# Subtest: name`), whose leaves are named
 * `parent > child`; a parent's own point only summarises its children and is not a test of its
 * own. A failing TODO is not a failure (TAP's rule), so it counts as skipped; `Bail out!` ends the
 * stream.
 */
import type { TestCase } from './types.js';

const POINT = /^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$/;
const DIRECTIVE = /(?:^|\s+)#\s*(TODO|SKIP)\S*(?:\s+(.*))?$/i;
const INDENT = 4;

/** Lines (or one text) → the stream's tests, in order. */
export class TapReader {
  private readonly tests: TestCase[] = [];
  /** Subtest names by nesting level, from `# Subtest:` comments. */
  private readonly subtests: string[] = [];
  /** How many points each level has seen since its last own point (children of the next one). */
  private readonly children: number[] = [];
  private last: TestCase | undefined;
  private bailed = false;
  /** Inside a YAML diagnostics block (`---` … `...`): its lines are data, not test points. */
  private yaml = false;

  push(line: string): void {
    if (this.bailed) return;
    const raw = line.replace(/\r$/, '');
    const trimmed = raw.trimStart();
    const level = Math.floor((raw.length - trimmed.length) / INDENT);
    if (/^Bail out!/.test(trimmed)) {
      this.bailed = true;
      return;
    }
    if (this.yaml) {
      if (trimmed.trimEnd() === '...') this.yaml = false;
      else if (this.last) readDiagnostic(this.last, trimmed);
      return;
    }
    if (trimmed.trimEnd() === '---' && raw.length > trimmed.length) {
      this.yaml = true;
      return;
    }
    const sub = /^#\s*Subtest:\s*(.*)$/.exec(trimmed);
    if (sub) {
      this.subtests.length = level;
      this.subtests[level] = sub[1].trim();
      return;
    }
    const m = POINT.exec(trimmed);
    if (!m) return;
    const hadChildren = (this.children[level + 1] ?? 0) > 0;
    this.children.length = level + 1;
    this.children[level] = (this.children[level] ?? 0) + 1;
    let description = m[3].trim();
    let directive: string | undefined;
    const d = DIRECTIVE.exec(description);
    if (d) {
      directive = d[1].toUpperCase();
      description = description.slice(0, d.index).trim();
    }
    if (hadChildren) {
      // A parent's summary point: its leaves were the tests.
      this.last = undefined;
      return;
    }
    const failed = m[1] !== undefined;
    const status: TestCase['status'] = directive === 'SKIP' || (directive === 'TODO' && failed) ? 'skip' : failed ? 'fail' : 'pass';
    // TAP's escape: `\#` is a `#` of the description, not a directive.
    const own = description.replace(/\\#/g, '#') || `test ${m[2] ?? this.children[level]}`;
    const parents = this.subtests.slice(0, level).filter((s) => s !== undefined);
    // node:test names the subtest and its point alike; do not say it twice.
    const name = [...parents, own].join(' > ');
    const test: TestCase = { name, status };
    this.tests.push(test);
    this.last = test;
  }

  finish(): TestCase[] {
    return this.tests;
  }
}

/** One `key: value` line of a test's YAML block: duration_ms, and file, line, message (tapWriter.ts). */
function readDiagnostic(test: TestCase, line: string): void {
  const m = /^(duration_ms|file|line|message):\s*(.*?)\s*$/.exec(line);
  if (!m) return;
  let value = m[2];
  if (value.startsWith('"')) {
    try {
      value = String(JSON.parse(value));
    } catch {
      return;
    }
  }
  if (m[1] === 'duration_ms') {
    const ms = Number(value);
    if (value !== '' && Number.isFinite(ms) && ms >= 0) test.durationNs = Math.round(ms * 1e6);
  } else if (m[1] === 'line') {
    const n = Number(value);
    if (Number.isInteger(n) && n >= 0) test.line = n;
  } else if (value !== '') {
    if (m[1] === 'file') test.file = value;
    else test.message = value.slice(0, 500);
  }
}

export function parseTap(text: string | Buffer): TestCase[] {
  const reader = new TapReader();
  for (const line of (typeof text === 'string' ? text : text.toString('utf8')).split('\n')) reader.push(line);
  return reader.finish();
}

/** True when a log's first meaningful line starts a TAP stream. */
export function looksLikeTap(firstLine: string): boolean {
  return /^\s*TAP version \d+\s*$/.test(firstLine) || /^\s*1\.\.\d+(\s*#.*)?$/.test(firstLine);
}
