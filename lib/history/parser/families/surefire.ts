import type { Family } from '../types.js';

// A failed test: `[ERROR] demo.CalcTest.addsWrong -- Time elapsed: 0.004 s <<< FAILURE!` (3.x), or
// `addsWrong(demo.CalcTest)  Time elapsed: 0.01 sec  <<< ERROR!` (2.x and 3.0.0-M).
const TEST_FAILED = /^(?:\[ERROR\] )?(\S+?)(?:\(([\w.$]+)\))?(?: --|\s) ?Time elapsed: .*<<< (?:FAILURE|ERROR)!/;
// `Tests run: 6, Failures: 1, Errors: 1, Skipped: 0`: a total only when no `Time elapsed` follows.
const TESTS_RUN = /^(?:\[(?:ERROR|INFO|WARNING)\] )?Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)(.*)$/;

/** Maven Surefire/Failsafe test reports in the build log. */
export const surefire: Family = {
  line(text, lineNo, sink) {
    if (!text.includes('Time elapsed') && !text.includes('Tests run: ')) return false;
    const run = TESTS_RUN.exec(text);
    if (run) {
      if (!run[5]) {
        const [total, failures, errors, skipped] = [run[1], run[2], run[3], run[4]].map(Number);
        sink.counts({ passed: total - failures - errors - skipped, failed: failures + errors, skipped });
      }
      return true;
    }
    const m = TEST_FAILED.exec(text);
    if (!m) return false;
    sink.error(lineNo, text, 'surefire');
    sink.failedTest(m[2] ? `${m[2]}.${m[1]}` : m[1]);
    return true;
  },
};
