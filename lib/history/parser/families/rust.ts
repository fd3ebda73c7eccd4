import type { Family } from '../types.js';

// rustc diagnostics carry a code: `error[E0308]: mismatched types`. Plain `error: …` is left to the
// generic family (cargo, git and others print it too).
const RUSTC_ERROR = /^error\[E\d{4}\]: /;
// `thread 'tests::it_fails' panicked at src/lib.rs:8:29:` (1.73+), with the thread id added in 1.88+.
const PANIC = /^thread '[^']*'(?: \(\d+\))? panicked at /;
const TEST_FAILED = /^test (\S+) \.\.\. FAILED$/;
const TEST_RESULT = /^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored;/;

/** rustc, cargo build and cargo test (libtest's output). */
export const rust: Family = {
  line(text, lineNo, sink) {
    const c0 = text.charCodeAt(0);
    if (c0 === 101 /* e */ && RUSTC_ERROR.test(text)) {
      sink.error(lineNo, text, 'rust');
      return true;
    }
    if (c0 !== 116 /* t */) return false;
    if (PANIC.test(text)) {
      sink.error(lineNo, text, 'rust');
      return true;
    }
    let m = TEST_FAILED.exec(text);
    if (m) {
      sink.error(lineNo, text, 'rust');
      sink.failedTest(m[1]);
      return true;
    }
    m = TEST_RESULT.exec(text);
    if (m) {
      sink.counts({ passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3]) });
      return true;
    }
    return false;
  },
};
