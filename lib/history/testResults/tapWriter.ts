/**
 * Test cases → a TAP 13 stream, as the TestResults step writes them into its log: people read
 * the outcomes there, and the history analyzer records them from it like any TAP log (tap.ts
 * reads back the name, status, and the YAML block's duration_ms, file, line and message).
 */
import type { TestCase } from './types.js';

/** A name on one line, its `#` escaped (TAP: `\#` is not a directive). */
function description(name: string): string {
  return name.replace(/[\r\n]+/g, ' ').trim().replace(/#/g, '\\#');
}

/** A YAML scalar: JSON's double-quoted strings are valid YAML. */
function scalar(v: string | number): string {
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

export function formatTap(cases: readonly TestCase[]): string {
  const lines = ['TAP version 13', `1..${cases.length}`];
  cases.forEach((c, i) => {
    const point = `${c.status === 'fail' ? 'not ok' : 'ok'} ${i + 1} - ${description(c.name)}`;
    lines.push(c.status === 'skip' ? `${point} # SKIP` : point);
    const yaml: [string, string | number][] = [];
    if (c.message !== undefined && c.status === 'fail') yaml.push(['message', c.message]);
    if (c.file !== undefined) yaml.push(['file', c.file]);
    if (c.line !== undefined) yaml.push(['line', c.line]);
    if (c.durationNs !== undefined) yaml.push(['duration_ms', c.durationNs / 1e6]);
    if (yaml.length === 0) return;
    lines.push('  ---');
    for (const [k, v] of yaml) lines.push(`  ${k}: ${scalar(v)}`);
    lines.push('  ...');
  });
  return `${lines.join('\n')}\n`;
}
