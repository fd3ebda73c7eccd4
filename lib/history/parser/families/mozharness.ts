import type { Family } from '../types.js';

// What Treeherder's error parser looks for in Mozilla harness logs (mochitest, reftest, xpcshell,
// marionette, gtest under mozharness), minus its noisier generic rules. MAYBE is one scan first:
// every line this family claims has one of these.
const MAYBE = /TEST-|PROCESS-CRASH|Assertion failure:|###!!! ABORT:|Hit MOZ_CRASH\(|Automation Error:|command timed out:|REFTEST |^(?:ERROR|CRITICAL|FATAL) - |^\[taskcluster:error\] |INFO|^\[ {2}(?:FAILED|PASSED) {2}\]/;
const UNEXPECTED = /TEST-UNEXPECTED-[A-Z]+|PROCESS-CRASH/;
// Harnesses echo expectations in passing lines: `TEST-PASS | x | expected TEST-UNEXPECTED-FAIL` is fine.
const EXCLUDED = /TEST-(?:INFO|PASS|KNOWN-FAIL|EXPECTED-FAIL) /;
const OTHER = /Assertion failure:|###!!! ABORT:|Hit MOZ_CRASH\(|Automation Error:|command timed out:|TEST-VALGRIND-ERROR|REFTEST ERROR|^(?:ERROR|CRITICAL|FATAL) - |^\[taskcluster:error\] /;
// mochitest `1 INFO Passed:  120`, xpcshell `INFO | Passed: 5`, reftest `REFTEST INFO | Successful: 9 (…)`.
const SUMMARY = /^(?:\d+ INFO |INFO \| |REFTEST INFO \| )(Passed|Failed|Todo|Successful|Unexpected|Known problems):\s*(\d+)(?:$| \()/;
// gtest: `[  FAILED  ] CalcTest.Adds (0 ms)`; `[  FAILED  ] 1 test, listed below:` repeats them.
const GTEST_FAILED = /^\[ {2}FAILED {2}\] (\w+(?:\/\w+)*\.\w+(?:\/\d+)?)/;
const GTEST_PASSED = /^\[ {2}PASSED {2}\] (\d+) tests?\./;

const SUMMARY_FIELD: Record<string, 'passed' | 'failed' | 'skipped'> = {
  Passed: 'passed', Successful: 'passed', Failed: 'failed', Unexpected: 'failed', Todo: 'skipped', 'Known problems': 'skipped',
};

/**
 * mozharness and gtest. The test is the field after `TEST-UNEXPECTED-FAIL | `; mozlog prints crashes
 * as `PROCESS-CRASH | application crashed [@ signature] | test`, the test last.
 */
export const mozharness: Family = {
  line(text, lineNo, sink) {
    if (!MAYBE.test(text)) return false;
    if (UNEXPECTED.test(text) && !EXCLUDED.test(text)) {
      sink.error(lineNo, text, 'mozharness');
      const fields = text.split(' | ');
      const crash = !text.includes('TEST-UNEXPECTED-');
      const name = (crash ? fields[fields.length - 1] : fields[1])?.trim();
      if (fields.length > 2 && name) sink.failedTest(name);
      return true;
    }
    if (OTHER.test(text)) {
      sink.error(lineNo, text, 'mozharness');
      return true;
    }
    if (text.includes('INFO')) {
      const m = SUMMARY.exec(text);
      if (m) {
        const n = Number(m[2]);
        const what = SUMMARY_FIELD[m[1]];
        sink.counts({ [what]: n });
        return true;
      }
    }
    if (text.startsWith('[  ')) {
      const m = GTEST_FAILED.exec(text);
      if (m) {
        sink.error(lineNo, text, 'gtest');
        sink.failedTest(m[1]);
        return true;
      }
      const p = GTEST_PASSED.exec(text);
      if (p) {
        sink.counts({ passed: Number(p[1]) });
        return true;
      }
      return text.startsWith('[  FAILED  ]');
    }
    return false;
  },
};
