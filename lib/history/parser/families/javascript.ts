import type { Family, Sink } from '../types.js';

// mocha (spec reporter): `  2 passing (5ms)`, `  1 pending`, `  2 failing`, then numbered failures
// whose title spans lines (`  1) calc` / `       adds wrong:`) and whose next line is the error.
const MOCHA_PASSING = /^ +(\d+) passing \(/;
const MOCHA_PENDING = /^ +(\d+) pending$/;
const MOCHA_FAILING = /^ +(\d+) failing$/;
const MOCHA_FAILURE = /^ {2}(\d+)\) (.*)$/;
// jest: `FAIL src/calc.test.js`, `  ● calc › adds wrong`, `    ✕ adds wrong (3 ms)`, and
// `Tests:       1 failed, 1 skipped, 3 passed, 5 total`.
const JEST_FILE = /^FAIL \S+\.\w+(?: \(.*\))?$/;
const JEST_BLOCK = /^ +● (.+)$/;
const JEST_CROSS = /^ +✕ (.+?)(?: \(\d+(?:\.\d+)? ?m?s\))?$/;
const JEST_TESTS = /^Tests: +(.*) total$/;

/** mocha and jest. */
export class JavaScript implements Family {
  private mochaFailing = false;
  /** The failure numbers still to read, so a later run's `  1) test` listing is not taken for one. */
  private mochaNext = 0;
  private mochaLast = 0;
  /** The title parts of the mocha failure being read; null when not inside a failure's title. */
  private title: string[] | null = null;
  /** After a complete mocha title: the next non-blank line is its error message. */
  private wantMessage = false;
  private jestNamed = false;
  private jestCrossed: string[] = [];

  line(text: string, lineNo: number, sink: Sink): boolean {
    if (this.mochaFailing && this.mocha(text, lineNo, sink)) return true;
    const c0 = text.charCodeAt(0);
    if (c0 === 32) {
      if (text.includes(' passing (')) {
        const m = MOCHA_PASSING.exec(text);
        if (m) {
          sink.counts({ passed: Number(m[1]) });
          return true;
        }
      }
      let m = text.endsWith(' failing') ? MOCHA_FAILING.exec(text) : null;
      if (m) {
        sink.counts({ failed: Number(m[1]) });
        this.mochaFailing = true;
        this.mochaNext = 1;
        this.mochaLast = Number(m[1]);
        return true;
      }
      m = text.endsWith(' pending') ? MOCHA_PENDING.exec(text) : null;
      if (m) {
        sink.counts({ skipped: Number(m[1]) });
        return true;
      }
      if (text.includes('●')) {
        m = JEST_BLOCK.exec(text);
        if (m) {
          sink.error(lineNo, text, 'jest');
          if (m[1] !== 'Test suite failed to run' && !m[1].startsWith('Console')) {
            this.jestNamed = true;
            sink.failedTest(m[1]);
          }
          return true;
        }
      }
      if (text.includes('✕')) {
        m = JEST_CROSS.exec(text);
        if (m) {
          this.jestCrossed.push(m[1]);
          return true;
        }
      }
      return false;
    }
    if (c0 === 70 /* F */ && JEST_FILE.test(text)) {
      sink.error(lineNo, text, 'jest');
      return true;
    }
    if (c0 === 84 /* T */) {
      const m = JEST_TESTS.exec(text);
      if (m) {
        const n = new Map<string, number>();
        for (const part of m[1].split(/,\s*/)) {
          const [num, word] = part.split(' ');
          if (word) n.set(word, Number(num));
        }
        sink.counts({ passed: n.get('passed') ?? 0, failed: n.get('failed') ?? 0, skipped: (n.get('skipped') ?? 0) + (n.get('todo') ?? 0) });
        return true;
      }
    }
    return false;
  }

  private mocha(text: string, lineNo: number, sink: Sink): boolean {
    if (this.title) {
      const part = text.trim();
      if (part === '' || this.title.length >= 20) {
        // Not a title after all (mocha always ends one with ':'): keep what was read, stop reading.
        sink.failedTest(this.title.join(' '));
        this.title = null;
        return false;
      }
      if (part.endsWith(':')) {
        this.title.push(part.slice(0, -1));
        sink.failedTest(this.title.join(' '));
        this.title = null;
        this.wantMessage = true;
      } else {
        this.title.push(part);
      }
      return true;
    }
    if (this.wantMessage && text.trim() !== '') {
      this.wantMessage = false;
      if (this.mochaNext > this.mochaLast) this.mochaFailing = false;
      sink.error(lineNo, text, 'mocha');
      return true;
    }
    const m = MOCHA_FAILURE.exec(text);
    if (!m || Number(m[1]) !== this.mochaNext) return false;
    this.mochaNext += 1;
    const first = m[2].trim();
    if (first.endsWith(':')) {
      sink.failedTest(first.slice(0, -1));
      this.wantMessage = true;
    } else {
      this.title = [first];
    }
    return true;
  }

  /** Jest names failures fully in its `●` blocks; only when it printed none do the `✕` leaves count. */
  finish(sink: Sink): void {
    if (!this.jestNamed) for (const name of this.jestCrossed) sink.failedTest(name);
  }
}
