import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseLog } from '../../../lib/history/parser/index.js';

const mochaLog = readFileSync(fileURLToPath(new URL('../../fixtures/logs/mocha.log', import.meta.url)), 'utf8');
const found = (log: string) => parseLog(log).errors.map((e) => e.text);

/** Variants of the toolchain formats that the fixtures do not show. */
describe('log parser families: format variants', () => {
  it('mocha: a second run in the same log, with top-level tests, is read afresh', () => {
    const second = '\n  1) top level fails\n  ✔ top level ok\n\n  1 passing (1ms)\n  1 failing\n\n  1) top level fails:\n     Error: nope\n';
    const r = parseLog(mochaLog + second);
    expect(r.tests).to.deep.equal({ failed: ['calc adds wrong', 'calc errors throws a TypeError', 'top level fails'], passed: 3, failedCount: 3, skipped: 1 });
    expect(r.errors.at(-1)).to.deep.equal({ line: 48, text: '     Error: nope', kind: 'mocha' });
  });

  it('surefire 2.x names failures method(Class)', () => {
    const r = parseLog([
      'Tests run: 3, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.05 sec <<< FAILURE! - in demo.CalcTest',
      'addsWrong(demo.CalcTest)  Time elapsed: 0.01 sec  <<< FAILURE!',
      'Tests run: 3, Failures: 1, Errors: 0, Skipped: 0',
    ].join('\n'));
    expect(r.tests).to.deep.equal({ failed: ['demo.CalcTest.addsWrong'], passed: 2, failedCount: 1, skipped: 0 });
    expect(r.errors.map((e) => e.line)).to.deep.equal([2]);
  });

  it('pytest -v result lines name failed tests without adding error lines', () => {
    const r = parseLog('tests/test_a.py::test_ok PASSED   [ 50%]\ntests/test_a.py::test_bad FAILED   [100%]\n');
    expect(r.tests.failed).to.deep.equal(['tests/test_a.py::test_bad']);
    expect(r.errors).to.deep.equal([]);
  });

  it('unittest before Python 3.11 prints ERROR: test (module.Class)', () => {
    const r = parseLog('ERROR: test_boom (test_ut.T)\nRan 2 tests in 0.001s\n\nFAILED (errors=1, skipped=1)\n');
    expect(r.tests).to.deep.equal({ failed: ['test_ut.T.test_boom'], passed: 0, failedCount: 1, skipped: 1 });
  });

  it('gtest, reftest and xpcshell summaries', () => {
    const r = parseLog([
      '[  FAILED  ] CalcTest.AddsWrong (0 ms)',
      '[  PASSED  ] 4 tests.',
      '[  FAILED  ] 1 test, listed below:',
      '[  FAILED  ] CalcTest.AddsWrong',
      'REFTEST INFO | Successful: 120 (118 pass, 2 load only)',
      'REFTEST INFO | Unexpected: 1 (1 unexpected fail, 0 unexpected pass)',
      'INFO | Passed: 7',
    ].join('\n'));
    expect(r.tests).to.deep.equal({ failed: ['CalcTest.AddsWrong'], passed: 131, failedCount: 1, skipped: null });
    expect(r.errors.map((e) => e.line)).to.deep.equal([1, 4]);
  });

  it('linkers and compilers beyond gcc: lld, Apple ld, clang, configure', () => {
    expect(found([
      'ld.lld: error: undefined symbol: helper',
      'Undefined symbols for architecture arm64:',
      '  "_helper", referenced from:',
      'clang: error: linker command failed with exit code 1 (use -v to see invocation)',
      "src/a.c:3:10: fatal error: 'foo.h' file not found",
      'configure: error: C compiler cannot create executables',
      'make[2]: *** No rule to make target `foo.o\', needed by `all\'.  Stop.',
      'make[1]: *** Waiting for unfinished jobs....',
    ].join('\n'))).to.deep.equal([
      'ld.lld: error: undefined symbol: helper',
      'Undefined symbols for architecture arm64:',
      "src/a.c:3:10: fatal error: 'foo.h' file not found",
      'configure: error: C compiler cannot create executables',
      'make[2]: *** No rule to make target `foo.o\', needed by `all\'.  Stop.',
    ]);
  });

  it('Python: chained tracebacks report each exception line; frames never', () => {
    const log = [
      'Traceback (most recent call last):',
      '  File "a.py", line 2, in <module>',
      '    int("x")',
      'ValueError: invalid literal for int() with base 10: \'x\'',
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "a.py", line 4, in <module>',
      '    raise RuntimeError("error: wrapped")',
      'RuntimeError: error: wrapped',
    ].join('\n');
    expect(parseLog(log).errors.map((e) => [e.line, e.kind])).to.deep.equal([[4, 'python'], [11, 'python']]);
  });
});
