import { cleanLine, errorText } from './clean.js';
import { buildSystems } from './families/buildSystems.js';
import { boilerplate } from './families/boilerplate.js';
import { compilers } from './families/compilers.js';
import { generic } from './families/generic.js';
import { go } from './families/go.js';
import { Gradle } from './families/gradle.js';
import { JavaScript } from './families/javascript.js';
import { linker } from './families/linker.js';
import { maven } from './families/maven.js';
import { mozharness } from './families/mozharness.js';
import { Python } from './families/python.js';
import { Ruby } from './families/ruby.js';
import { rust } from './families/rust.js';
import { sanitizer } from './families/sanitizer.js';
import { surefire } from './families/surefire.js';
import type { ErrorLine, Family, ParsedLog, ParseOptions, Sink } from './types.js';

/** Treeherder keeps the first 100 error lines of a log; so do we by default. */
export const DEFAULT_MAX_ERROR_LINES = 100;

/**
 * The families in the order they see a line: the specific ones (that also claim their summary lines)
 * first, then boilerplate (claims lines that only look like errors), then the broad ones.
 * Stateful families are created per parser.
 */
function families(): Family[] {
  return [
    mozharness, sanitizer, rust, go, surefire, new Gradle(), new Python(), new JavaScript(), new Ruby(),
    boilerplate, linker, compilers, buildSystems, maven, generic,
  ];
}

/**
 * Finds error lines and test results in a log read line by line, in one pass: each line is cleaned
 * once and shown to each family until one claims it. State is per parser; use one per log.
 */
export class LogParser {
  private readonly max: number;
  private readonly stdio: boolean;
  private readonly families = families();
  private readonly errors: ErrorLine[] = [];
  private truncated = false;
  private lastErrorLine = 0;
  private readonly failed: string[] = [];
  private readonly failedSeen = new Set<string>();
  private passed: number | null = null;
  private failedCount: number | undefined;
  private skipped: number | null = null;
  private readonly sink: Sink;

  constructor(opts: ParseOptions = {}) {
    const max = opts.maxErrorLines ?? DEFAULT_MAX_ERROR_LINES;
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`maxErrorLines must be a whole number >= 0, got ${max}`);
    this.max = max;
    this.stdio = opts.stdio ?? false;
    this.sink = {
      error: (line, text, kind) => {
        if (line === this.lastErrorLine) return;
        this.lastErrorLine = line;
        if (this.errors.length >= this.max) this.truncated = true;
        else this.errors.push({ line, text: errorText(text), kind });
      },
      failedTest: (name) => {
        if (this.failedSeen.has(name)) return;
        this.failedSeen.add(name);
        this.failed.push(name);
      },
      counts: (c) => {
        if (c.passed !== undefined) this.passed = (this.passed ?? 0) + c.passed;
        if (c.failed !== undefined) this.failedCount = (this.failedCount ?? 0) + c.failed;
        if (c.skipped !== undefined) this.skipped = (this.skipped ?? 0) + c.skipped;
      },
    };
  }

  /**
   * Feeds one or more whole lines: `text` may hold several `\n`-separated lines (a log chunk; a
   * trailing `\n` ends the last one), and `lineNumber` is the 1-based number of its first line.
   */
  push(text: string, lineNumber: number): void {
    let start = 0;
    let n = lineNumber;
    const end = text.length;
    while (start < end) {
      let nl = text.indexOf('\n', start);
      if (nl < 0) nl = end;
      this.line(text.slice(start, nl), n);
      n += 1;
      start = nl + 1;
    }
    if (end === 0) this.line('', n);
  }

  private line(raw: string, lineNo: number): void {
    if (this.stdio) {
      if (raw.charCodeAt(0) === 104 /* h */) return;
      raw = raw.slice(1);
    }
    const text = cleanLine(raw);
    for (const f of this.families) if (f.line(text, lineNo, this.sink)) return;
  }

  /** What was found; the parser is done after this. */
  finish(): ParsedLog {
    for (const f of this.families) f.finish?.(this.sink);
    const tests: ParsedLog['tests'] = { failed: this.failed, passed: this.passed, skipped: this.skipped };
    if (this.failedCount !== undefined) tests.failedCount = this.failedCount;
    return { errors: this.errors, tests, truncated: this.truncated };
  }
}
