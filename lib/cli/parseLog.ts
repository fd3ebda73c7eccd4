import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { UsageError } from '../errors/index.js';
import { LogParser } from '../history/parser/index.js';
import type { ParsedLog } from '../history/parser/index.js';
import type { Output } from './output.js';

export interface ParseLogOptions {
  json?: boolean;
  maxErrorLines?: string;
}

/** Reads a log file in chunks (a 50 MB log never sits in memory whole) and parses it. */
export async function parseLogFile(file: string, maxErrorLines?: number): Promise<ParsedLog> {
  const parser = new LogParser({ maxErrorLines });
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 1;
  const feed = (text: string): void => {
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      carry = text;
      return;
    }
    const whole = text.slice(0, last);
    parser.push(whole, lineNo);
    lineNo += countNewlines(whole) + 1;
    carry = text.slice(last + 1);
  };
  try {
    for await (const chunk of createReadStream(file)) feed(carry + decoder.write(chunk as Buffer));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') throw new UsageError(`cannot read ${file}: ${code}`);
    throw err;
  }
  const rest = carry + decoder.end();
  if (rest !== '') parser.push(rest, lineNo);
  return parser.finish();
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n += 1;
  return n;
}

/** The --json shape promised in the docs: errors with line and text only, tests with failed and passed only. */
export function parsedLogJson(r: ParsedLog): string {
  return JSON.stringify({
    errors: r.errors.map((e) => ({ line: e.line, text: e.text })),
    tests: { failed: r.tests.failed, passed: r.tests.passed },
  });
}

function human(file: string, r: ParsedLog): string {
  const n = r.errors.length;
  const lines = [`${file}: ${n} error line${n === 1 ? '' : 's'}${r.truncated ? ` (capped at ${n}; more were found)` : ''}`];
  const width = String(r.errors.at(-1)?.line ?? 0).length;
  for (const e of r.errors) lines.push(`  ${String(e.line).padStart(width)}: ${e.text}${e.kind ? `  [${e.kind}]` : ''}`);
  const t = r.tests;
  const counts = [
    t.failedCount !== undefined ? `${t.failedCount} failed` : null,
    t.passed !== null ? `${t.passed} passed` : null,
    t.skipped !== null && t.skipped !== undefined ? `${t.skipped} skipped` : null,
  ].filter((x) => x !== null);
  lines.push(`tests: ${counts.length > 0 ? counts.join(', ') : 'no runner summary found'}`);
  for (const name of t.failed) lines.push(`  failed: ${name}`);
  return `${lines.join('\n')}\n`;
}

export async function parseLogCommand(file: string, opts: ParseLogOptions, out: Output): Promise<void> {
  let max: number | undefined;
  if (opts.maxErrorLines !== undefined) {
    max = Number(opts.maxErrorLines);
    if (!/^\d+$/.test(opts.maxErrorLines)) throw new UsageError(`--max-error-lines: expected a whole number, got '${opts.maxErrorLines}'`);
  }
  const r = await parseLogFile(file, max);
  out.stdout(opts.json ? `${parsedLogJson(r)}\n` : human(file, r));
}

export function registerParseLog(program: Command, out: Output): void {
  program
    .command('parse-log')
    .description('print the error lines and test results the history parser finds in a log file')
    .argument('<file>', 'a build log (text; ANSI colours, CRLF and timestamp prefixes are fine)')
    .option('--json', 'print {"errors":[{"line":N,"text":"…"}],"tests":{"failed":[…],"passed":N|null}}')
    .option('--max-error-lines <n>', 'keep at most this many error lines (default 100)')
    .action(async (file: string, opts: ParseLogOptions) => parseLogCommand(file, opts, out));
}
