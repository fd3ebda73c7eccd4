/** One line a person triaging the build would point at. `line` is 1-based, as in the file. */
export interface ErrorLine {
  line: number;
  /** The line without ANSI codes, CR, NUL bytes and known timestamp/harness prefixes, cut when very long. */
  text: string;
  /** The toolchain family that recognised it: 'gcc', 'make', 'rust', 'pytest', 'mozharness', … */
  kind?: string;
}

export interface ParsedTests {
  /** Names of failed tests, deduplicated, in the order first seen. */
  failed: string[];
  /** Passed tests as counted by the runner's own summary (summed over several); null when none was printed. */
  passed: number | null;
  /** Failed tests as counted by the runner's summary, when it printed one. */
  failedCount?: number;
  skipped?: number | null;
}

export interface ParsedLog {
  errors: ErrorLine[];
  tests: ParsedTests;
  /** True when more error lines were found than the cap kept. */
  truncated: boolean;
}

export interface ParseOptions {
  /** At most this many error lines are kept (default 100); later ones only set `truncated`. */
  maxErrorLines?: number;
  /**
   * The lines are a Buildbot stdio log as stored in logchunks: each starts with its channel, `o`
   * (stdout), `e` (stderr) or `h` (header: the command, its environment, the exit code). The channel
   * is dropped and header lines are skipped (they still count for line numbers).
   */
  stdio?: boolean;
}

/** Where a family reports what it recognised. */
export interface Sink {
  error(line: number, text: string, kind: string): void;
  failedTest(name: string): void;
  /** Counts from a runner's summary line; several summaries add up. */
  counts(c: { passed?: number; failed?: number; skipped?: number }): void;
}

/**
 * One toolchain family's recogniser. It sees every cleaned line once, in order, and may keep state
 * between lines (a traceback, a failure block). Returns true when it claimed the line, so later
 * families (the generic ones) do not look at it again.
 */
export interface Family {
  line(text: string, lineNo: number, sink: Sink): boolean;
  /** Called once after the last line, for what can only be decided at the end. */
  finish?(sink: Sink): void;
}
