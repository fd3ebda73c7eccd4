/**
 * JUnit XML as the common runners write it: Maven surefire/failsafe (`<testsuite>` per class, with
 * `rerunFailure`/`flakyFailure` for reruns), pytest's `--junitxml` (`<testsuites><testsuite>`,
 * `file`/`line` attributes), jest-junit and others (classname repeating the name). A `failure` or
 * `error` child fails a test, `skipped` skips it; anything else passed. Several suites and nested
 * suites are read in document order.
 */
import type { TestCase } from './types.js';
import { findAll, parseXml, type XmlElement } from './xmlReader.js';

/** Seconds (JUnit's `time`, sometimes with a thousands separator) → ns; undefined when unreadable. */
function durationNs(time: string | undefined): number | undefined {
  if (time === undefined) return undefined;
  const s = Number(time.replace(/,/g, ''));
  return Number.isFinite(s) && s >= 0 ? Math.round(s * 1e9) : undefined;
}

function firstLine(s: string | undefined): string | undefined {
  const line = s?.trim().split('\n', 1)[0]?.trim();
  return line ? line.slice(0, 500) : undefined;
}

/** `classname.name`, unless the name already carries the class (jest-junit repeats it). */
function testName(tc: XmlElement): string {
  const name = (tc.attrs.name ?? '').trim();
  const cls = (tc.attrs.classname ?? tc.attrs.class ?? '').trim();
  if (!cls || name.startsWith(cls)) return name || cls;
  return name ? `${cls}.${name}` : cls;
}

function testCase(tc: XmlElement): TestCase {
  const child = (n: string) => tc.children.find((c) => c.name === n);
  const failed = child('failure') ?? child('error');
  const skipped = child('skipped');
  const flaky = tc.children.some((c) => c.name === 'flakyFailure' || c.name === 'flakyError');
  const out: TestCase = { name: testName(tc), status: failed ? 'fail' : skipped ? 'skip' : 'pass' };
  const file = tc.attrs.file?.trim();
  if (file) out.file = file;
  const line = Number(tc.attrs.line);
  if (tc.attrs.line !== undefined && Number.isInteger(line) && line >= 0) out.line = line;
  const ns = durationNs(tc.attrs.time);
  if (ns !== undefined) out.durationNs = ns;
  const message = failed ? (firstLine(failed.attrs.message) ?? firstLine(failed.text)) : undefined;
  if (message) out.message = message;
  if (flaky && !failed) out.flaky = true;
  return out;
}

/** Every `<testcase>` of the report, in order. An empty or non-JUnit document yields []. */
export function parseJUnitXml(xml: string | Buffer): TestCase[] {
  const root = parseXml(typeof xml === 'string' ? xml : xml.toString('utf8'));
  return findAll(root, 'testcase')
    .filter((tc) => tc.closed) // a test cut off by a truncated file has no outcome yet
    .map(testCase)
    .filter((t) => t.name !== '');
}

/** True when the text looks like a JUnit report (for logs that may hold one). */
export function looksLikeJUnit(head: string): boolean {
  return /^\s*(?:\ufeff)?(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<testsuites?[\s>/]/.test(head);
}
