import { LogParser } from './logParser.js';
import type { ParsedLog, ParseOptions } from './types.js';

export { LogParser, DEFAULT_MAX_ERROR_LINES } from './logParser.js';
export { cleanLine, MAX_TEXT_CHARS } from './clean.js';
export type { ErrorLine, ParsedLog, ParsedTests, ParseOptions } from './types.js';

/**
 * The error lines a person triaging the build would point at, and the test results the runners
 * printed, from a whole log. Lines are split on `\n` and numbered from 1.
 */
export function parseLog(text: string | Buffer, opts?: ParseOptions): ParsedLog {
  const parser = new LogParser(opts);
  const s = typeof text === 'string' ? text : text.toString('utf8');
  // A final `\n` ends the last line; it does not start another.
  parser.push(s.endsWith('\n') ? s.slice(0, -1) : s, 1);
  return parser.finish();
}
