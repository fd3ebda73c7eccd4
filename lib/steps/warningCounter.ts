/**
 * Buildbot's WarningCountingShellCommand line consumer: a line of output matching the warning
 * pattern (default `(?i).*warning[: ].*`, matched from the line's start) counts as a warning,
 * except GNU make's "Entering/Leaving directory" lines. Headers are not output and are not counted.
 */
import type { SplitLine } from '../logs/lineSplitter.js';

export const DEFAULT_WARNING_PATTERN = /warning[: ]/i;
const DIRECTORY_ENTER = /make.*: Entering directory [\u2019"`'](.*)[\u2019'`"]/;
const DIRECTORY_LEAVE = /make.*: Leaving directory/;
/** The `warnings (N)` log keeps at most this many lines; the count is exact regardless. */
export const MAX_LOGGED_WARNINGS = 50_000;

export class WarningCounter {
  count = 0;
  readonly lines: string[] = [];
  private depth = 0;

  constructor(private readonly pattern: RegExp = DEFAULT_WARNING_PATTERN) {}

  /** Feed one stored line (the LogWriter observer). */
  readonly onLine = (line: SplitLine): void => {
    if (line.channel === 'h') return;
    this.feed(line.text);
  };

  feed(text: string): void {
    if (DIRECTORY_ENTER.test(text)) {
      this.depth++;
      return;
    }
    if (this.depth > 0 && DIRECTORY_LEAVE.test(text)) {
      this.depth--;
      return;
    }
    this.pattern.lastIndex = 0;
    if (!this.pattern.test(text)) return;
    this.count++;
    if (this.lines.length < MAX_LOGGED_WARNINGS) this.lines.push(text);
  }

  /** Text of the `warnings (N)` log. */
  logText(): string {
    const more = this.count - this.lines.length;
    return this.lines.join('\n') + '\n' + (more > 0 ? `(${more} more warnings not shown)\n` : '');
  }
}
