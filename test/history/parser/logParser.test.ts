import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_ERROR_LINES, LogParser, parseLog } from '../../../lib/history/parser/index.js';

const dir = fileURLToPath(new URL('../../fixtures/logs/', import.meta.url));

describe('LogParser (streaming) and the error-line cap', () => {
  it('gives the same result fed line by line, or in chunks of several lines, as parseLog on the whole file', () => {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
      const text = readFileSync(`${dir}${file}`, 'utf8');
      const whole = parseLog(text);
      const lines = text.replace(/\n$/, '').split('\n');

      const byLine = new LogParser();
      lines.forEach((l, i) => byLine.push(l, i + 1));
      expect(byLine.finish(), file).to.deep.equal(whole);

      // Chunks of 7 lines, each ending with '\n', as log chunks come out of the database.
      const byChunk = new LogParser();
      for (let i = 0; i < lines.length; i += 7) byChunk.push(`${lines.slice(i, i + 7).join('\n')}\n`, i + 1);
      expect(byChunk.finish(), file).to.deep.equal(whole);
    }
  });

  it('numbers lines from where the caller says the chunk starts', () => {
    const p = new LogParser();
    p.push('fine\nerror: first\n', 500);
    p.push('fatal: second', 502);
    expect(p.finish().errors.map((e) => [e.line, e.text])).to.deep.equal([[501, 'error: first'], [502, 'fatal: second']]);
  });

  it('keeps the first 100 error lines by default and says it was capped', () => {
    const log = Array.from({ length: 250 }, (_, i) => `error: number ${i + 1}`).join('\n');
    const r = parseLog(log);
    expect(DEFAULT_MAX_ERROR_LINES).to.equal(100);
    expect(r.errors).to.have.length(100);
    expect(r.errors[99]).to.deep.equal({ line: 100, text: 'error: number 100', kind: 'error' });
    expect(r.truncated).to.equal(true);
  });

  it('takes the cap from maxErrorLines, and is not truncated at exactly the cap', () => {
    const log = 'error: a\nerror: b\nerror: c\n';
    expect(parseLog(log, { maxErrorLines: 2 })).to.include({ truncated: true }).and.to.have.nested.property('errors.length', 2);
    expect(parseLog(log, { maxErrorLines: 3 })).to.include({ truncated: false }).and.to.have.nested.property('errors.length', 3);
    expect(parseLog(log, { maxErrorLines: 0 })).to.deep.include({ errors: [], truncated: true });
    expect(() => parseLog(log, { maxErrorLines: -1 })).to.throw(RangeError, /maxErrorLines/);
  });

  it('still counts tests and names failures past the cap', () => {
    const log = 'error: a\nerror: b\nFAILED t.py::test_x - boom\n==== 1 failed, 2 passed in 0.1s ====\n';
    const r = parseLog(log, { maxErrorLines: 1 });
    expect(r.errors).to.have.length(1);
    expect(r.tests).to.deep.equal({ failed: ['t.py::test_x'], passed: 2, failedCount: 1, skipped: 0 });
  });

  it('sums the summaries of several runs and leaves passed null when no runner printed one', () => {
    const two = parseLog('==== 1 failed, 2 passed in 0.1s ====\n  3 passing (5ms)\ntest result: ok. 4 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s\n');
    expect(two.tests).to.deep.equal({ failed: [], passed: 9, failedCount: 1, skipped: 1 });
    expect(parseLog('just some output\n').tests).to.deep.equal({ failed: [], passed: null, skipped: null });
  });

  it('reads a Buffer as UTF-8 and copes with an empty log', () => {
    expect(parseLog(Buffer.from('main.c:1:1: error: ‘x’ undeclared\n')).errors).to.deep.equal([
      { line: 1, text: 'main.c:1:1: error: ‘x’ undeclared', kind: 'compiler' },
    ]);
    expect(parseLog('')).to.deep.equal({ errors: [], tests: { failed: [], passed: null, skipped: null }, truncated: false });
  });
});

describe('LogParser on Buildbot stdio logs', () => {
  it('drops the o/e channel of each line and skips header lines, keeping line numbers', () => {
    const chunk = [
      'hmake -k all',
      "h in dir /home/ci/build (timeout 1200 secs)",
      'ogcc -Wall -c main.c',
      "emain.c:7:12: error: ‘undefined_var’ undeclared (first use in this function)",
      'emake: *** [Makefile:4: main] Error 1',
      'herror: a header line is never an error line',
      'hprogram finished with exit code 2',
    ].join('\n');
    const p = new LogParser({ stdio: true });
    p.push(chunk, 1);
    expect(p.finish().errors).to.deep.equal([
      { line: 4, text: 'main.c:7:12: error: ‘undefined_var’ undeclared (first use in this function)', kind: 'compiler' },
      { line: 5, text: 'make: *** [Makefile:4: main] Error 1', kind: 'make' },
    ]);
  });
});
