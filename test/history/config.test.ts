import { expect } from 'chai';
import { validateConfig } from '../../lib/config/validate.js';

describe('history config key', () => {
  it('defaults: 100 error lines, Perfherder windows 12/12, |t| > 7, 2%', () => {
    const r = validateConfig({}, '/srv/master');
    expect(r.ok && r.config.history).to.deep.equal({
      maxErrorLines: 100,
      knownIssues: [],
      regression: { backWindow: 12, forwardWindow: 12, tThreshold: 7, minChangePercent: 2 },
    });
  });

  it('takes rules with RegExp or string patterns (as RegExps) and partial regression options', () => {
    const r = validateConfig({
      history: {
        maxErrorLines: 20,
        knownIssues: [{ title: 'OOM', url: 'https://bugs/1', pattern: /oom/i, builders: ['linux'] }, { title: 'dns', pattern: 'name resolution' }, { title: 'sig', signature: 'abc' }],
        regression: { tThreshold: 5 },
      },
    }, '/srv/master');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.history.maxErrorLines).to.equal(20);
    expect(r.config.history.knownIssues.map((k) => [k.title, String(k.pattern), k.signature, k.builders])).to.deep.equal([
      ['OOM', '/oom/i', undefined, ['linux']],
      ['dns', '/name resolution/', undefined, undefined],
      ['sig', 'undefined', 'abc', undefined],
    ]);
    expect(r.config.history.regression).to.deep.equal({ backWindow: 12, forwardWindow: 12, tThreshold: 5, minChangePercent: 2 });
  });

  it('names each bad option', () => {
    const r = validateConfig({
      history: { maxErrorLine: 3, knownIssues: [{ title: 'a' }, { title: 'a', pattern: '(' }], regression: { backWindow: 0 } },
    }, '/srv/master');
    expect(r.ok).to.equal(false);
    const problems = r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
    expect(problems).to.include.members([
      'history.knownIssues[0]: needs a pattern or a signature',
      'history.knownIssues[1].title: duplicate known issue title "a"',
      'history.maxErrorLine: unknown option (did you mean "maxErrorLines"?)',
    ]);
    expect(problems.some((p) => p.startsWith('history.knownIssues[1].pattern: invalid regex'))).to.equal(true);
    expect(problems.some((p) => p.startsWith('history.regression.backWindow'))).to.equal(true);
  });
});
