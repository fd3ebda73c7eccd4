import { expect } from 'chai';
import { testSummary } from '../../lib/steps/test.js';
import { TestCounter } from '../../lib/steps/testCounter.js';
import { WarningCounter } from '../../lib/steps/warningCounter.js';

function counts(lines: string[]) {
  const c = new TestCounter();
  for (const l of lines) c.feed(l);
  return c.counts();
}

describe('steps/testCounter', function () {
  it('reads the summaries of common runners', function () {
    expect(counts(['==== 1 failed, 10 passed, 2 warnings, 1 error in 0.12s ===='])).to.deep.equal({ total: 14, passed: 10, failed: 2, warnings: 2 });
    expect(counts(['  12 passing (3s)', '  2 pending', '  1 failing'])).to.deep.equal({ total: 13, passed: 12, failed: 1, warnings: 0 });
    expect(counts(['Tests:       1 failed, 2 skipped, 10 passed, 13 total'])).to.deep.equal({ total: 13, passed: 10, failed: 1, warnings: 0 });
    expect(counts(['Ran 12 tests in 0.003s', '', 'FAILED (failures=1, errors=2, skipped=1)'])).to.deep.equal({ total: 12, passed: 8, failed: 3, warnings: 0 });
    expect(counts(['Ran 5 tests in 0.1s', 'OK'])).to.deep.equal({ total: 5, passed: 5, failed: 0, warnings: 0 });
    expect(counts(['# tests 7', '# pass 6', '# fail 1'])).to.deep.equal({ total: 7, passed: 6, failed: 1, warnings: 0 });
    expect(counts(['Failed 2/40 subtests', 'Files=3, Tests=40,  1 wallclock secs'])).to.deep.equal({ total: 40, passed: 38, failed: 2, warnings: 0 });
    expect(counts(['100% tests passed, 0 tests failed out of 9'])).to.deep.equal({ total: 9, passed: 9, failed: 0, warnings: 0 });
  });

  it('adds up per-binary and per-module summaries, counts go test lines, ignores colour codes', function () {
    expect(counts(['test result: ok. 3 passed; 0 failed; 1 ignored', 'test result: FAILED. 4 passed; 2 failed; 0 ignored'])).to.deep.equal({ total: 9, passed: 7, failed: 2, warnings: 0 });
    expect(counts(['[INFO] Tests run: 3, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 0.1 s - in a.FooTest', '[INFO] Tests run: 10, Failures: 1, Errors: 1, Skipped: 2'])).to.deep.equal({ total: 10, passed: 6, failed: 2, warnings: 0 });
    expect(counts(['--- PASS: TestA (0.00s)', '--- FAIL: TestB (0.00s)', '--- PASS: TestC (0.01s)'])).to.deep.equal({ total: 3, passed: 2, failed: 1, warnings: 0 });
    expect(counts(['\x1b[32m  3 passing\x1b[0m (5ms)'])).to.deep.equal({ total: 3, passed: 3, failed: 0, warnings: 0 });
  });

  it('sees nothing in ordinary output, and words the summary as Buildbot', function () {
    expect(counts(['compiling', 'all tests passed', 'Tests: none'])).to.equal(undefined);
    expect(testSummary({ total: 0, passed: 10, failed: 2, warnings: 1 })).to.equal('13 tests 10 passed 1 warnings 2 failed');
    expect(testSummary({ total: 0, passed: 0, failed: 0, warnings: 0 })).to.equal(undefined);
  });
});

describe('steps/warningCounter', function () {
  it('counts lines matching warning[: ], skipping make directory lines and headers', function () {
    const c = new WarningCounter();
    for (const text of ['a.c:1: warning: x', 'WARNING something', 'warnings: 3', "make[2]: Entering directory '/x/warning: y'", "make[2]: Leaving directory '/x'", 'no'])
      c.onLine({ channel: 'o', text, ts: 0 });
    c.onLine({ channel: 'h', text: 'warning: in a header', ts: 0 });
    expect(c.count).to.equal(2);
    expect(c.logText()).to.equal('a.c:1: warning: x\nWARNING something\n');
  });
});
