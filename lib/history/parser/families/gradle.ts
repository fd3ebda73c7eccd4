import type { Family, Sink } from '../types.js';

const TASK_FAILED = /^> Task (\S+) FAILED$/;
const SUMMARY = /^(\d+) tests? completed, (\d+) failed(?:, (\d+) skipped)?$/;

/** Gradle: failed tasks and tests, `FAILURE: …`, and the line under `* What went wrong:`. */
export class Gradle implements Family {
  private wentWrong = false;

  line(text: string, lineNo: number, sink: Sink): boolean {
    if (this.wentWrong) {
      if (text.trim() === '') return false;
      this.wentWrong = false;
      sink.error(lineNo, text, 'gradle');
      return true;
    }
    if (text.startsWith('* What went wrong:')) {
      this.wentWrong = true;
      return true;
    }
    if (text.startsWith('FAILURE: ')) {
      sink.error(lineNo, text, 'gradle');
      return true;
    }
    const c0 = text.charCodeAt(0);
    if (!text.endsWith('FAILED') && !(c0 >= 48 && c0 <= 57)) return false;
    if (TASK_FAILED.test(text)) {
      sink.error(lineNo, text, 'gradle');
      return true;
    }
    // `CalcTest > addsWrong() FAILED`; nested and parameterized tests add more ` > ` parts.
    if (text.endsWith(' FAILED') && text.includes(' > ') && text.charCodeAt(0) !== 32) {
      sink.error(lineNo, text, 'gradle');
      sink.failedTest(text.slice(0, -' FAILED'.length));
      return true;
    }
    const m = SUMMARY.exec(text);
    if (m) {
      const [total, failed, skipped] = [m[1], m[2], m[3] ?? '0'].map(Number);
      sink.counts({ passed: total - failed - skipped, failed, skipped });
      return true;
    }
    return false;
  }
}
