import type { Family, Sink } from '../types.js';

// minitest: `  1) Failure:` / `  2) Error:` then the test on its own line,
// `CalcTest#test_add_wrong [test/calc_test.rb:9]:` (or `CalcTest#test_boom:` for errors).
const HEADER = /^ *\d+\) (?:Failure|Error):$/;
const TEST_LINE = /^([^\s#]+#\S+?)(?: \[[^\]]*\])?:$/;
const SUMMARY = /^(\d+) runs, \d+ assertions, (\d+) failures, (\d+) errors, (\d+) skips$/;

/** minitest (and `rake aborted!`, how a failed rake task ends). */
export class Ruby implements Family {
  private wantTest = false;

  line(text: string, lineNo: number, sink: Sink): boolean {
    if (this.wantTest) {
      this.wantTest = false;
      const m = TEST_LINE.exec(text);
      if (m) {
        sink.error(lineNo, text, 'minitest');
        sink.failedTest(m[1]);
        return true;
      }
    }
    if (text.endsWith(':') && HEADER.test(text)) {
      this.wantTest = true;
      return true;
    }
    if (text.endsWith(' skips')) {
      const m = SUMMARY.exec(text);
      if (m) {
        const [runs, failures, errors, skips] = [m[1], m[2], m[3], m[4]].map(Number);
        sink.counts({ passed: runs - failures - errors - skips, failed: failures + errors, skipped: skips });
        return true;
      }
    }
    if (text === 'rake aborted!') {
      sink.error(lineNo, text, 'ruby');
      return true;
    }
    return false;
  }
}
