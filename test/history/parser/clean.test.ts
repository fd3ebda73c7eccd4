import { expect } from 'chai';
import { cleanLine, MAX_TEXT_CHARS, parseLog } from '../../../lib/history/parser/index.js';

describe('log parser line cleaning', () => {
  it('drops ANSI colours, OSC hyperlinks and cursor codes', () => {
    expect(cleanLine('\x1b[01m\x1b[Kmain.c:7:12:\x1b[m\x1b[K \x1b[01;31m\x1b[Kerror: \x1b[m\x1b[Kboom')).to.equal('main.c:7:12: error: boom');
    expect(cleanLine('\x1b]8;;file:///src/a.c\x07a.c\x1b]8;;\x07:1:1: error: x')).to.equal('a.c:1:1: error: x');
    expect(cleanLine('\x1b[2K\x1b[1Gerror: cleared line')).to.equal('error: cleared line');
  });

  it('handles CRLF and keeps the last segment of a line rewritten with lone CRs (progress bars)', () => {
    expect(cleanLine('error: windows line\r')).to.equal('error: windows line');
    expect(cleanLine('Downloading  10%\rDownloading  50%\rerror: disk full')).to.equal('error: disk full');
    expect(cleanLine('error: in an early segment\rprogress 100%\r')).to.equal('progress 100%');
  });

  it('drops NUL bytes', () => {
    expect(cleanLine('\0\0\0error: after padding')).to.equal('error: after padding');
    expect(cleanLine('fat\0al: x')).to.equal('fatal: x');
  });

  it('strips timestamp and harness prefixes, stacked, and nothing else', () => {
    const cases: [string, string][] = [
      ['[2026-11-21T10:00:00.123Z] error: x', 'error: x'],
      ['[2026-11-21 10:00:00,123] error: x', 'error: x'],
      ['2026-11-21T10:00:00.1234567Z error: x', 'error: x'],
      ['12:00:01 error: x', 'error: x'],
      ['12:00:01.250 error: x', 'error: x'],
      ['[12:00:01] error: x', 'error: x'],
      ['[task 2026-11-21T10:00:00.123Z] error: x', 'error: x'],
      ['[taskcluster 2026-11-21T10:00:00.123Z] === Task Finished ===', '=== Task Finished ==='],
      ['[task 2026-11-21T10:00:00.123Z] 10:00:00     INFO - TEST-UNEXPECTED-FAIL | a | b', 'TEST-UNEXPECTED-FAIL | a | b'],
      ['[task 2026-11-21T10:00:00.123Z] 10:00:00    ERROR - Return code: 1', 'ERROR - Return code: 1'],
      ['10:00:00  WARNING - setting return code to 2', 'setting return code to 2'],
      ['12:00 is not a timestamp', '12:00 is not a timestamp'],
      ['2026 errors were not found', '2026 errors were not found'],
      ['[ERROR] kept', '[ERROR] kept'],
      ['    INFO - kept without a time before it', '    INFO - kept without a time before it'],
    ];
    for (const [raw, clean] of cases) expect(cleanLine(raw), raw).to.equal(clean);
  });

  it('finds errors behind prefixes, ANSI and CRLF together, keeping line numbers', () => {
    const log = [
      '[2026-11-21T10:00:00.100Z] \x1b[32mok\x1b[0m\r',
      '[2026-11-21T10:00:00.200Z] \x1b[31merror[E0308]\x1b[0m: mismatched types\r',
      '12:00:01 make: *** [Makefile:4: main] Error 1\r',
      '[task 2026-11-21T10:00:02.000Z] 10:00:02     INFO - TEST-UNEXPECTED-FAIL | dom/a.html | boom\r',
      '',
    ].join('\n');
    expect(parseLog(log).errors).to.deep.equal([
      { line: 2, text: 'error[E0308]: mismatched types', kind: 'rust' },
      { line: 3, text: 'make: *** [Makefile:4: main] Error 1', kind: 'make' },
      { line: 4, text: 'TEST-UNEXPECTED-FAIL | dom/a.html | boom', kind: 'mozharness' },
    ]);
  });

  it('cuts a 1 MB line, and 1 MB lines built to make regexes backtrack cost no more than a moment', function () {
    this.timeout(30_000);
    const mb = 1 << 20;
    const long = parseLog(`ok\nerror: ${'x'.repeat(mb)}\nfatal: after`);
    expect(long.errors.map((e) => e.line)).to.deep.equal([2, 3]);
    expect(long.errors[0].text).to.have.length(MAX_TEXT_CHARS + 1);
    expect(long.errors[0].text.endsWith('x…')).to.equal(true);
    const hostile = [
      ':'.repeat(mb), 'a:'.repeat(mb / 2), ' '.repeat(mb), 'error '.repeat(mb / 6), 'a > '.repeat(mb / 4) + 'xFAILED',
      'FAILED ' + '::'.repeat(mb / 2) + ' x', 'TEST-UNEXPECTED-FAIL | '.repeat(mb / 23), 'a#'.repeat(mb / 2),
      '\x1b]'.repeat(mb / 2), '\x1b['.repeat(mb / 2), 'java.'.repeat(mb / 5) + 'aError', 'A'.repeat(mb), '=='.repeat(mb / 2),
      'thread \''.repeat(mb / 8), '\r'.repeat(mb), '\0'.repeat(mb), '[task 2026-11-21T10:00:00.123Z] '.repeat(mb / 32),
    ];
    const started = Date.now();
    const r = parseLog(hostile.join('\n'));
    // Generous: a few ms each when linear; a quadratic regex would take minutes on these.
    expect(Date.now() - started).to.be.below(10_000);
    expect(r.errors.every((e) => e.text.length <= MAX_TEXT_CHARS + 1)).to.equal(true);
  });
});
