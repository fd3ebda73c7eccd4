import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cleanLine, parseLog } from '../../../lib/history/parser/index.js';

const dir = fileURLToPath(new URL('../../fixtures/logs/', import.meta.url));

interface Expected {
  /** Every error line found, exactly: [line number, text]. */
  errors: [number, string][];
  tests: { failed: string[]; passed: number | null; failedCount: number | undefined; skipped: number | null };
  /** Text on trap lines (present in the log) that must not be reported. */
  notFound: string[];
}

/**
 * Real logs of each toolchain (see test/fixtures/logs/README.md for how each was made), with the
 * error lines a person would point at, and the lines that only look like errors.
 */
const FIXTURES: Record<string, Expected> = {
  'cargo-build-color.log': {
    errors: [
      [2, 'error[E0308]: mismatched types'],
      [15, 'error[E0308]: mismatched types'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['error: could not compile', 'For more information about this error'],
  },
  'cargo-build.log': {
    errors: [
      [2, 'error[E0308]: mismatched types'],
      [15, 'error[E0308]: mismatched types'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['error: could not compile', 'For more information about this error'],
  },
  'cargo-test.log': {
    errors: [
      [18, 'test tests::it_fails ... FAILED'],
      [19, 'test tests::it_panics ... FAILED'],
      [26, "thread 'tests::it_fails' (2483) panicked at src/lib.rs:8:29:"],
      [34, "thread 'tests::it_panics' (2484) panicked at src/lib.rs:11:65:"],
    ],
    tests: { failed: ['tests::it_fails', 'tests::it_panics'], passed: 3, failedCount: 2, skipped: 0 },
    notFound: ['warning: unused variable: `unused_error`', 'error: test failed, to rerun pass', 'test tests::error_handling_works ... ok', 'test result: FAILED.'],
  },
  'clang.log': {
    errors: [
      [9, "main.c:7:12: error: use of undeclared identifier 'undefined_var'"],
      [13, 'make: *** [Makefile:4: main.o] Error 1'],
      [15, "werr.c:2:9: error: unused variable 'unused_errno' [-Werror,-Wunused-variable]"],
      [19, 'make: *** [Makefile:6: werr.o] Error 1'],
      [21, "widget.cpp:5:10: fatal error: 'missing/header.h' file not found"],
      [25, 'make: *** [Makefile:8: widget.o] Error 1'],
      [28, "app.c:(.text+0x15): undefined reference to `helper'"],
      [30, 'make: *** [Makefile:10: app] Error 1'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ["warning: variable 'error_count' is uninitialized", "note: initialize the variable 'error_count'", '1 warning and 1 error generated.', '1 error generated.', 'clang: error: linker command failed', 'in function `main', '0 errors generated.', "make: Target 'all' not remade because of errors."],
  },
  'cmake-configure-error.log': {
    errors: [
      [7, 'CMake Error at CMakeLists.txt:3 (find_package):'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['-- Configuring incomplete, errors occurred!'],
  },
  'cmake-ninja.log': {
    errors: [
      [17, 'FAILED: CMakeFiles/demo.dir/main.c.o'],
      [20, '/tmp/fx/cm/main.c:3:114: error: ‘no_such_symbol’ undeclared (first use in this function)'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['Performing Test HAVE_WERROR - Success', 'HAVE_WERROR_FORMAT_SECURITY - Failed', 'Looking for strerror_r - found', 'ninja: build stopped: subcommand failed.'],
  },
  'gcc-color.log': {
    errors: [
      [6, 'warn.cpp:3:16: error: ‘string’ is not a member of ‘std’'],
      [13, 'warn.cpp:3:37: error: ‘s’ was not declared in this scope'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['warning: comparison of integer expressions', 'note: ‘std::string’ is defined in header'],
  },
  'gcc-make-ld.log': {
    errors: [
      [14, 'main.c:7:12: error: ‘undefined_var’ undeclared (first use in this function)'],
      [24, 'make: *** [Makefile:6: main] Error 1'],
      [27, "link.c:(.text+0xa): undefined reference to `helper'"],
      [29, 'make: *** [Makefile:8: link] Error 1'],
      [36, 'warn.cpp:3:16: error: ‘string’ is not a member of ‘std’'],
      [43, 'warn.cpp:3:37: error: ‘s’ was not declared in this scope'],
      [46, 'make: *** [Makefile:10: cxx] Error 1'],
      [49, 'werr2.c:2:9: error: unused variable ‘unused_errno’ [-Werror=unused-variable]'],
      [53, 'make: *** [Makefile:12: werror] Error 1'],
      [55, '/usr/bin/ld: cannot find -lnosuchlib: No such file or directory'],
      [57, 'make: *** [Makefile:14: nolib] Error 1'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['‘error_count’ is used uninitialized', 'unused variable ‘unused_error_count’', 'collect2: error: ld returned 1 exit status', 'cc1: all warnings being treated as errors', "make: Target 'all' not remade because of errors.", 'note: each undeclared identifier'],
  },
  'git.log': {
    errors: [
      [1, "fatal: repository '/nonexistent/repo.git' does not exist"],
      [2, 'fatal: not a git repository (or any of the parent directories): .git'],
      [3, "error: pathspec 'no-such-branch' did not match any file(s) known to git"],
      [4, "fatal: unable to access 'https://127.0.0.1:1/repo.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server"],
      [5, 'error: No valid patches in input (allow with "--allow-empty")'],
      [6, 'fatal: Needed a single revision'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: [],
  },
  'go-test.log': {
    errors: [
      [7, '--- FAIL: TestSub (0.00s)'],
      [12, '--- FAIL: TestDiv (0.00s)'],
      [13, '    --- FAIL: TestDiv/by_zero (0.00s)'],
      [16, 'FAIL\texample.com/calc\t0.003s'],
      [22, 'cmd/calc/main.go:12:2: undefined: parseArgs'],
      [23, 'FAIL\texample.com/calc/cmd/calc [build failed]'],
      [25, '--- FAIL: TestParse (0.00s)'],
      [26, 'panic: runtime error: index out of range [3] with length 0 [recovered]'],
      [45, 'FAIL\texample.com/calc/parse\t0.004s'],
    ],
    tests: { failed: ['TestSub', 'TestDiv', 'TestDiv/by_zero', 'TestParse'], passed: null, failedCount: undefined, skipped: null },
    notFound: ['ok  \texample.com/calc/internal/errors', '--- PASS: TestErrorWrapping', '\tpanic: runtime error', 'exit status 2'],
  },
  'gradle.log': {
    errors: [
      [19, 'CalcTest > addsWrong() FAILED'],
      [22, 'ParserTest > parsesNegative(int) > [2] -1 FAILED'],
      [27, '> Task :app:test FAILED'],
      [29, 'FAILURE: Build failed with an exception.'],
      [32, "Execution failed for task ':app:test'."],
      [46, '> Task :lib:compileKotlin FAILED'],
      [47, 'e: file:///home/ci/demo/lib/src/main/kotlin/Calc.kt:7:16 Unresolved reference: parseErrors'],
      [49, 'FAILURE: Build failed with an exception.'],
      [52, "Execution failed for task ':lib:compileKotlin'."],
    ],
    tests: { failed: ['CalcTest > addsWrong()', 'ParserTest > parsesNegative(int) > [2] -1'], passed: 3, failedCount: 2, skipped: 1 },
    notFound: ['BUILD FAILED in 4s', '> There were failing tests', 'w: file:///', 'warning: [options]', '6 tests completed, 2 failed, 1 skipped', 'Deprecated Gradle features'],
  },
  'javac.log': {
    errors: [
      [1, "Main.java:7: error: ';' expected"],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['1 error'],
  },
  'jest.log': {
    errors: [
      [4, 'FAIL src/calc.test.js'],
      [12, '  ● calc › adds wrong'],
      [29, '  ● calc › nested › throws on null'],
      [31, "    TypeError: Cannot read properties of null (reading 'x')"],
    ],
    tests: { failed: ['calc › adds wrong', 'calc › nested › throws on null'], passed: 2, failedCount: 2, skipped: 1 },
    notFound: ['Test Suites: 1 failed', 'Tests:       2 failed', '✕ adds wrong', 'Expected: 5', 'reports 0 errors for a clean file'],
  },
  'maven-compile.log': {
    errors: [
      [16, '[ERROR] /tmp/fx/mvn2/src/main/java/demo/Broken.java:[4,47] incompatible types: int cannot be converted to java.lang.String'],
      [17, '[ERROR] /tmp/fx/mvn2/src/main/java/demo/Broken.java:[4,57] incompatible types: java.lang.String cannot be converted to int'],
      [26, '[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.13.0:compile (default-compile) on project demo: Compilation failure: Compilation failure:'],
      [27, '[ERROR] /tmp/fx/mvn2/src/main/java/demo/Broken.java:[4,47] incompatible types: int cannot be converted to java.lang.String'],
      [28, '[ERROR] /tmp/fx/mvn2/src/main/java/demo/Broken.java:[4,57] incompatible types: java.lang.String cannot be converted to int'],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['[ERROR] COMPILATION ERROR :', '[ERROR] -> [Help 1]', '[ERROR] To see the full stack trace', '[INFO] BUILD FAILURE', '[INFO] 2 errors'],
  },
  'maven-surefire.log': {
    errors: [
      [29, '[ERROR] demo.CalcTest.throwsNpe -- Time elapsed: 0.029 s <<< ERROR!'],
      [30, 'java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null'],
      [36, '[ERROR] demo.CalcTest.addsWrong -- Time elapsed: 0.004 s <<< FAILURE!'],
      [37, 'org.opentest4j.AssertionFailedError: expected: <5> but was: <4>'],
      [55, '[ERROR]   CalcTest.addsWrong:6 expected: <5> but was: <4>'],
      [57, '[ERROR]   CalcTest.throwsNpe:8 NullPointer Cannot invoke "String.length()" because "s" is null'],
      [67, '[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.5:test (default-test) on project demo: There are test failures.'],
    ],
    tests: { failed: ['demo.CalcTest.throwsNpe', 'demo.CalcTest.addsWrong'], passed: 4, failedCount: 2, skipped: 0 },
    notFound: ['Tests run: 2, Failures: 0, Errors: 0, Skipped: 0, Time elapsed', '[ERROR] Tests run: 6, Failures: 1, Errors: 1', '[ERROR] Tests run: 4, Failures: 1', '[ERROR] Failures: ', '[ERROR] Re-run Maven using', 'at demo.CalcTest.addsWrong(CalcTest.java:6)'],
  },
  'minitest.log': {
    errors: [
      [21, 'CalcTest#test_add_wrong [test/calc_test.rb:11]:'],
      [26, 'ParserTest#test_errors_are_reported:'],
      [27, "NoMethodError: undefined method `errors' for nil:NilClass"],
      [34, 'rake aborted!'],
    ],
    tests: { failed: ['CalcTest#test_add_wrong', 'ParserTest#test_errors_are_reported'], passed: 7, failedCount: 2, skipped: 1 },
    notFound: ['3 runs, 3 assertions, 0 failures, 0 errors, 0 skips', '7 runs, 6 assertions', 'Command failed with status (1)', 'Expected: 5'],
  },
  'mocha-color.log': {
    errors: [
      [19, '      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:'],
      [34, "     TypeError: Cannot read properties of null (reading 'x')"],
    ],
    tests: { failed: ['calc adds wrong', 'calc errors throws a TypeError'], passed: 2, failedCount: 2, skipped: 1 },
    notFound: ['2 failing', 'reports 0 errors when clean', '    1) adds wrong', '2 passing'],
  },
  'mocha.log': {
    errors: [
      [19, '      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:'],
      [34, "     TypeError: Cannot read properties of null (reading 'x')"],
    ],
    tests: { failed: ['calc adds wrong', 'calc errors throws a TypeError'], passed: 2, failedCount: 2, skipped: 1 },
    notFound: ['2 failing', 'reports 0 errors when clean', '    1) adds wrong', '2 passing'],
  },
  'mozharness.log': {
    errors: [
      [9, '4 INFO TEST-UNEXPECTED-FAIL | dom/base/test/test_fetch.html | fetch resolves - got "rejected", expected "resolved"'],
      [13, 'GECKO(1234) | Assertion failure: mState == State::Ready, at /builds/worker/checkouts/gecko/dom/base/Foo.cpp:40'],
      [14, 'GECKO(1234) | ==1234==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020000a1b30 at pc 0x7f3c1d2e4a10 bp 0x7ffd2b1c8f90 sp 0x7ffd2b1c8f88'],
      [15, 'GECKO(1234) | SUMMARY: AddressSanitizer: heap-use-after-free /builds/worker/checkouts/gecko/dom/base/Foo.cpp:41:7 in mozilla::dom::Foo::Run()'],
      [16, '7 INFO TEST-UNEXPECTED-TIMEOUT | dom/base/test/test_crash.html | application timed out after 370 seconds with no output'],
      [17, 'PROCESS-CRASH | application crashed [@ mozilla::dom::Foo::Run()] | dom/base/test/test_crash.html'],
      [27, 'ERROR - # TBPL FAILURE #'],
      [32, '[taskcluster:error] exit status 2'],
    ],
    tests: { failed: ['dom/base/test/test_fetch.html', 'dom/base/test/test_crash.html'], passed: 1, failedCount: 2, skipped: 1 },
    notFound: ['TEST-PASS | dom/base/test/test_errors.html | reports 0 errors', 'TEST-KNOWN-FAIL', 'Failed:  2', 'Return code: 1', 'setting return code to 2', 'Crash reason:'],
  },
  'msvc.log': {
    errors: [
      [7, "C:\\ci\\demo\\main.cpp(12,12): error C2065: 'undefined_var': undeclared identifier [C:\\ci\\demo\\build\\demo.vcxproj]"],
      [9, 'util.obj : error LNK2019: unresolved external symbol "int __cdecl helper(int)" (?helper@@YAHH@Z) referenced in function main [C:\\ci\\demo\\build\\demo.vcxproj]'],
      [10, 'C:\\ci\\demo\\build\\Debug\\demo.exe : fatal error LNK1120: 1 unresolved externals [C:\\ci\\demo\\build\\demo.vcxproj]'],
      [42, "legacy.c(7): error C2143: syntax error: missing ';' before '}'"],
      [43, "NMAKE : fatal error U1077: '\"C:\\Program Files\\Microsoft Visual Studio\\2022\\Community\\VC\\Tools\\MSVC\\14.38.33130\\bin\\HostX64\\x64\\cl.EXE\" /nologo /W3 /c legacy.c' : return code '0x2'"],
      [47, "LINK : fatal error LNK1181: cannot open input file 'nosuch.lib'"],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ["warning C4996: 'strerror'", '  C:\\ci\\demo\\main.cpp(12,12): error C2065', '  util.obj : error LNK2019', '3 Error(s)', 'Build FAILED.', 'Stop.'],
  },
  'pytest-collection-error.log': {
    errors: [
      [20, 'ERROR t2/test_broken.py'],
    ],
    tests: { failed: ['t2/test_broken.py'], passed: 0, failedCount: 1, skipped: 0 },
    notFound: ['E   ModuleNotFoundError', 'Interrupted: 1 error during collection', '1 error in'],
  },
  'pytest.log': {
    errors: [
      [37, 'FAILED tests/test_calc.py::test_add_wrong - assert 4 == 5'],
      [38, "FAILED tests/test_calc.py::test_raises - KeyError: 'missing'"],
      [39, 'FAILED tests/test_calc.py::test_param[2] - assert 2 == 1'],
    ],
    tests: { failed: ['tests/test_calc.py::test_add_wrong', 'tests/test_calc.py::test_raises', 'tests/test_calc.py::test_param[2]'], passed: 3, failedCount: 3, skipped: 1 },
    notFound: ["E       KeyError: 'missing'", '3 failed, 3 passed, 1 skipped', 'tests/test_calc.py:10: AssertionError'],
  },
  'python-traceback.log': {
    errors: [
      [10, "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/config.json'"],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['Traceback (most recent call last):', 'File "/tmp/fx/py/tb.py", line 7'],
  },
  'python-unittest.log': {
    errors: [
      [6, 'ERROR: test_boom (test_ut.T.test_boom)'],
      [12, 'RuntimeError: boom'],
      [15, 'FAIL: test_bad (test_ut.T.test_bad)'],
      [21, "AssertionError: 'errors: 0' != 'errors: 1'"],
    ],
    tests: { failed: ['test_ut.T.test_boom', 'test_ut.T.test_bad'], passed: 1, failedCount: 2, skipped: 0 },
    notFound: ['FAILED (failures=1, errors=1)', 'test_bad (test_ut.T.test_bad) ... FAIL', 'Ran 3 tests'],
  },
  'sanitizers.log': {
    errors: [
      [2, '==1840==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000020 at pc 0x563d7aa851ca bp 0x7ffda037df50 sp 0x7ffda037df48'],
      [15, 'SUMMARY: AddressSanitizer: heap-buffer-overflow /tmp/fx/c/asan.c:2 in main'],
      [48, "ub.c:2:66: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'"],
    ],
    tests: { failed: [], passed: null, failedCount: undefined, skipped: null },
    notFound: ['READ of size 4', 'Shadow bytes around', '==1840==ABORTING'],
  },
  'traps.log': {
    errors: [
    ],
    tests: { failed: [], passed: 52, failedCount: 0, skipped: 0 },
    notFound: ['checking whether gcc accepts -Werror... yes', 'checking whether -Werror works... yes', 'checking for error_at_line... yes', 'HAVE_WERROR_FORMAT_SECURITY - Failed', 'warning: implicit declaration of function ‘error’', 'warning: unused variable: `error`', 'but "error: %s" has type', 'compiling error_handling.c', '-- Tests run: 5, Failures: 0, Errors: 0', '12 passed in 0.31s', '0 failed', 'Errors: 0', 'Failed:  0', '0 Error(s)', '0 failures, 0 errors', 'test result: ok.', 'ok  \texample.com/errors', 'TEST-PASS | dom/tests/test_errors.html | no errors', 'expected TEST-UNEXPECTED-FAIL handled', 'The error rate is 0%', "grep -c 'error:' build.log", '0 errors generated.'],
  },
};

describe('log parser on real logs of each toolchain', () => {
  it('has an expectation for every fixture', () => {
    const logs = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
    expect(Object.keys(FIXTURES).sort()).to.deep.equal(logs);
  });

  for (const [file, want] of Object.entries(FIXTURES)) {
    it(`${file}: finds exactly the error lines, the failed tests and the counts`, () => {
      const raw = readFileSync(`${dir}${file}`);
      const got = parseLog(raw);
      expect(got.errors.map((e) => [e.line, e.text])).to.deep.equal(want.errors);
      expect({ ...got.tests, failedCount: got.tests.failedCount }).to.deep.equal(want.tests);
      expect(got.truncated).to.equal(false);
      // Text and Buffer give the same answer.
      expect(parseLog(raw.toString('utf8'))).to.deep.equal(got);
    });

    if (want.notFound.length > 0) {
      it(`${file}: does not report the trap lines`, () => {
        const lines = readFileSync(`${dir}${file}`, 'utf8').split('\n').map(cleanLine);
        const found = new Set(parseLog(readFileSync(`${dir}${file}`)).errors.map((e) => e.line));
        for (const trap of want.notFound) {
          const at = lines.flatMap((l, i) => (l.includes(trap) ? [i + 1] : []));
          expect(at, `trap '${trap}' is in ${file}`).to.not.be.empty;
          for (const n of at) expect(found.has(n), `line ${n} ('${lines[n - 1]}') reported`).to.equal(false);
        }
      });
    }
  }
});
