/**
 * Test counts from the summaries common test runners print, for the Test step (Buildbot's Test
 * has setTestResults for subclasses; this is our built-in observer). Recognised:
 *
 * | runner            | line                                                        | combine |
 * |-------------------|-------------------------------------------------------------|---------|
 * | pytest            | `=== 1 failed, 10 passed, 2 warnings in 0.12s ===`          | last    |
 * | mocha             | `10 passing (2s)`, `2 failing`                              | last    |
 * | jest / vitest     | `Tests:  1 failed, 10 passed, 11 total`                     | last    |
 * | unittest          | `Ran 12 tests in 0.003s` then `OK` / `FAILED (failures=1, errors=2)` | last |
 * | TAP (node:test…)  | `# pass 10`, `# fail 2`                                     | last    |
 * | Perl prove        | `Files=3, Tests=40, …`, `Failed 2/40 subtests`              | last    |
 * | cargo test        | `test result: ok. 10 passed; 1 failed; 0 ignored; …`        | sum     |
 * | Maven surefire    | `Tests run: 10, Failures: 1, Errors: 0, Skipped: 2` (totals) | sum    |
 * | go test -v        | `--- PASS: TestX`, `--- FAIL: TestY`                        | count   |
 * | CTest             | `90% tests passed, 1 tests failed out of 10`                | last    |
 *
 * Each runner's counts are kept apart; the result is the sum over runners that printed anything.
 */

export interface TestCounts {
  total: number;
  passed: number;
  failed: number;
  warnings: number;
}

type Partial4 = { total?: number; passed?: number; failed?: number; warnings?: number };

const ANSI = /\x1b\[[0-9;]*m/g;

function num(s: string | undefined): number {
  return s === undefined ? 0 : Number(s);
}

export class TestCounter {
  /** Runners whose latest summary replaces the previous one. */
  private readonly last = new Map<string, Partial4>();
  /** Runners whose summaries add up (one per test binary / module). */
  private readonly sums = new Map<string, Required<Partial4>>();
  private unittestRan: number | undefined;

  feed(raw: string): void {
    const line = raw.replace(ANSI, '').trim();
    if (!line) return;
    let m: RegExpExecArray | null;

    // pytest: "== 1 failed, 10 passed, 2 warnings, 1 error in 0.12s =="
    if ((m = /^=+ (.*\d+ (?:passed|failed|errors?|skipped|warnings?|xfailed|xpassed|deselected).*?) in [\d.]+s?.*=+$/.exec(line))) {
      const c: Partial4 = {};
      for (const [, n, what] of m[1].matchAll(/(\d+) (passed|failed|errors?|warnings?|xpassed)/g)) {
        if (what === 'passed' || what === 'xpassed') c.passed = (c.passed ?? 0) + Number(n);
        else if (what === 'failed' || what.startsWith('error')) c.failed = (c.failed ?? 0) + Number(n);
        else c.warnings = (c.warnings ?? 0) + Number(n);
      }
      this.last.set('pytest', c);
      return;
    }
    // mocha
    if ((m = /^(\d+) passing \(/.exec(line))) {
      this.last.set('mocha', { passed: num(m[1]), failed: 0 });
      return;
    }
    if ((m = /^(\d+) failing$/.exec(line)) && this.last.has('mocha')) {
      this.last.get('mocha')!.failed = num(m[1]);
      return;
    }
    // jest / vitest
    if ((m = /^Tests:?\s+(.*\d+ total.*)$/.exec(line)) || (m = /^Tests\s+(.*\(\d+\))$/.exec(line))) {
      const c: Partial4 = {
        passed: num(/(\d+) passed/.exec(m[1])?.[1]),
        failed: num(/(\d+) failed/.exec(m[1])?.[1]),
      };
      const total = /(\d+) total/.exec(m[1])?.[1] ?? /\((\d+)\)/.exec(m[1])?.[1];
      if (total !== undefined) c.total = Number(total);
      this.last.set('jest', c);
      return;
    }
    // python unittest
    if ((m = /^Ran (\d+) tests? in [\d.]+s$/.exec(line))) {
      this.unittestRan = num(m[1]);
      this.last.set('unittest', { total: this.unittestRan, passed: this.unittestRan, failed: 0 });
      return;
    }
    if (this.unittestRan !== undefined && (m = /^FAILED \((.*)\)$/.exec(line))) {
      const failed = num(/failures=(\d+)/.exec(m[1])?.[1]) + num(/errors=(\d+)/.exec(m[1])?.[1]);
      const skipped = num(/skipped=(\d+)/.exec(m[1])?.[1]);
      this.last.set('unittest', { total: this.unittestRan, failed, passed: Math.max(0, this.unittestRan - failed - skipped) });
      return;
    }
    // TAP summaries (node --test, tape)
    if ((m = /^#\s*(pass|fail|tests)\s+(\d+)$/.exec(line))) {
      const c = this.last.get('tap') ?? {};
      if (m[1] === 'pass') c.passed = num(m[2]);
      else if (m[1] === 'fail') c.failed = num(m[2]);
      else c.total = num(m[2]);
      this.last.set('tap', c);
      return;
    }
    // Perl prove / Test::Harness (Buildbot's PerlModuleTest)
    if ((m = /^Files=\d+, Tests=(\d+)/.exec(line))) {
      const c = this.last.get('perl') ?? {};
      c.total = num(m[1]);
      c.passed = c.total - (c.failed ?? 0);
      this.last.set('perl', c);
      return;
    }
    if ((m = /^Failed (\d+)\/(\d+) subtests/.exec(line))) {
      const c = this.last.get('perl') ?? {};
      c.failed = (c.failed ?? 0) + num(m[1]);
      if (c.total !== undefined) c.passed = c.total - c.failed;
      this.last.set('perl', c);
      return;
    }
    // cargo test: one line per test binary
    if ((m = /^test result: \w+\. (\d+) passed; (\d+) failed;/.exec(line))) {
      this.add('cargo', { passed: num(m[1]), failed: num(m[2]) });
      return;
    }
    // Maven surefire totals (per-class lines carry "Time elapsed" and are skipped)
    if ((m = /^(?:\[\w+\]\s*)?Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)$/.exec(line))) {
      const run = num(m[1]);
      const failed = num(m[2]) + num(m[3]);
      this.add('maven', { total: run, failed, passed: run - failed - num(m[4]) });
      return;
    }
    // go test -v
    if ((m = /^--- (PASS|FAIL): /.exec(line))) {
      this.add('go', m[1] === 'PASS' ? { passed: 1 } : { failed: 1 });
      return;
    }
    // CTest
    if ((m = /^\d+% tests passed, (\d+) tests? failed out of (\d+)$/.exec(line))) {
      const total = num(m[2]);
      this.last.set('ctest', { total, failed: num(m[1]), passed: total - num(m[1]) });
    }
  }

  private add(runner: string, c: Partial4): void {
    const s = this.sums.get(runner) ?? { total: 0, passed: 0, failed: 0, warnings: 0 };
    s.total += c.total ?? 0;
    s.passed += c.passed ?? 0;
    s.failed += c.failed ?? 0;
    s.warnings += c.warnings ?? 0;
    this.sums.set(runner, s);
  }

  /** The counts, or undefined when no runner summary was seen. */
  counts(): TestCounts | undefined {
    const all: Partial4[] = [...this.last.values(), ...this.sums.values()];
    if (all.length === 0) return undefined;
    const out: TestCounts = { total: 0, passed: 0, failed: 0, warnings: 0 };
    for (const c of all) {
      const passed = c.passed ?? 0;
      const failed = c.failed ?? 0;
      const warnings = c.warnings ?? 0;
      out.passed += passed;
      out.failed += failed;
      out.warnings += warnings;
      out.total += c.total || passed + failed + warnings;
    }
    return out;
  }
}
