import type { Family } from '../types.js';

// `--- FAIL: TestSub (0.00s)`, indented for subtests (`    --- FAIL: TestSub/neg (0.00s)`).
const TEST_FAIL = /^\s*--- FAIL: (\S+) \(/;
// The package line: `FAIL\texample.com/calc\t0.002s` (a lone `FAIL` before it says nothing more).
const PKG_FAIL = /^FAIL\t\S+/;
// Compiler and vet errors are unindented `./calc.go:5:2: undefined: foo`; t.Log output is indented.
const GO_FILE_ERROR = /^(?:\.{0,2}\/)?[^\s:]+\.go:\d+:\d+: /;
const PANIC = /^panic: /;

/** go build, go vet and go test (go never prints a pass count without -json, so `passed` stays null). */
export const go: Family = {
  line(text, lineNo, sink) {
    const m = text.includes('--- FAIL: ') ? TEST_FAIL.exec(text) : null;
    if (m) {
      sink.error(lineNo, text, 'go');
      sink.failedTest(m[1]);
      return true;
    }
    if (text.startsWith('FAIL')) {
      if (text === 'FAIL') return true;
      if (!PKG_FAIL.test(text)) return false;
      sink.error(lineNo, text, 'go');
      return true;
    }
    if ((text.startsWith('panic: ') && PANIC.test(text)) || (text.includes('.go:') && GO_FILE_ERROR.test(text))) {
      sink.error(lineNo, text, 'go');
      return true;
    }
    return false;
  },
};
