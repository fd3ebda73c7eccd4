import type { Family, Sink } from '../types.js';

const TRACEBACK = 'Traceback (most recent call last):';
// The exception line closing a traceback: `FileNotFoundError: [Errno 2] …`, `pkg.mod.MyError`, `KeyboardInterrupt`.
const EXCEPTION_LINE = /^[A-Za-z_][\w.]*(?::|$)/;
// pytest's short summary: `FAILED tests/test_calc.py::test_add_wrong - assert 4 == 5`, `ERROR t2/test_broken.py`.
// The test id has `::` or is a .py file; checked outside the regex, which stays linear.
const PYTEST_SUMMARY = /^(?:FAILED|ERROR) (\S+)(?: - .*)?$/;
// pytest -v per-test line: `tests/test_calc.py::test_add_wrong FAILED   [ 33%]` (named; the summary has the error).
const PYTEST_VERBOSE = /^(\S+) (?:FAILED|ERROR)\b/;
// `==== 3 failed, 3 passed, 1 skipped in 0.79s ====` (also `(0:01:02)` after the seconds).
const PYTEST_FINAL = /^=+ (\d+ [a-z]+(?:, \d+ [a-z]+)*) in [\d.]+s(?: \([\d:.]+\))? =+$/;
// unittest: `FAIL: test_bad (test_ut.T.test_bad)` (3.11+) or `ERROR: test_boom (test_ut.T)`.
const UNITTEST_FAIL = /^(FAIL|ERROR): (\w+) \(([\w.]+)\)/;
const UNITTEST_RAN = /^Ran (\d+) tests? in /;
const UNITTEST_RESULT = /^(?:OK|FAILED)(?: \(([^)]*)\))?$/;

function counted(summary: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of summary.split(/,\s*/)) {
    const eq = part.indexOf('=');
    const sp = part.indexOf(' ');
    if (eq > 0) out.set(part.slice(0, eq), Number(part.slice(eq + 1)));
    else if (sp > 0) out.set(part.slice(sp + 1), Number(part.slice(0, sp)));
  }
  return out;
}

/** Python tracebacks, pytest and unittest. */
export class Python implements Family {
  private inTraceback = false;
  private ran: number | null = null;

  line(text: string, lineNo: number, sink: Sink): boolean {
    if (this.inTraceback) {
      const c0 = text.charCodeAt(0);
      if (c0 === 32 || c0 === 9 || text === '') return true; // frames and source lines
      this.inTraceback = false;
      if (text.startsWith(TRACEBACK)) {
        this.inTraceback = true;
        return true;
      }
      if (EXCEPTION_LINE.test(text)) {
        sink.error(lineNo, text, 'python');
        return true;
      }
    }
    if (text.startsWith(TRACEBACK)) {
      this.inTraceback = true;
      return true;
    }
    const c0 = text.charCodeAt(0);
    if (c0 === 70 /* F */ || c0 === 69 /* E */) {
      let m = PYTEST_SUMMARY.exec(text);
      if (m && (m[1].includes('::') || m[1].endsWith('.py'))) {
        sink.error(lineNo, text, 'pytest');
        sink.failedTest(m[1]);
        return true;
      }
      m = UNITTEST_FAIL.exec(text);
      if (m) {
        sink.error(lineNo, text, 'unittest');
        sink.failedTest(m[3].endsWith(`.${m[2]}`) ? m[3] : `${m[3]}.${m[2]}`);
        return true;
      }
    }
    if (c0 === 61 /* = */ && text.endsWith('=')) {
      const m = PYTEST_FINAL.exec(text);
      if (m) {
        const n = counted(m[1]);
        sink.counts({ passed: n.get('passed') ?? 0, failed: (n.get('failed') ?? 0) + (n.get('error') ?? 0) + (n.get('errors') ?? 0), skipped: n.get('skipped') ?? 0 });
        return true;
      }
    }
    if (c0 === 82 /* R */) {
      const m = UNITTEST_RAN.exec(text);
      if (m) {
        this.ran = Number(m[1]);
        return true;
      }
    }
    if (this.ran !== null && (c0 === 79 /* O */ || c0 === 70 /* F */)) {
      const m = UNITTEST_RESULT.exec(text);
      if (m) {
        const n = counted(m[1] ?? '');
        const failed = (n.get('failures') ?? 0) + (n.get('errors') ?? 0);
        const skipped = n.get('skipped') ?? 0;
        sink.counts({ passed: this.ran - failed - skipped - (n.get('expected failures') ?? 0), failed, skipped });
        this.ran = null;
        return true;
      }
    }
    if (text.includes('::')) {
      const m = PYTEST_VERBOSE.exec(text);
      if (m && m[1].includes('::')) {
        sink.failedTest(m[1]);
        return true;
      }
    }
    return false;
  }
}
