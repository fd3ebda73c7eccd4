import { expect } from 'chai';
import { validateConfig } from '../../lib/config/validate.js';
import { DEFAULT_INTERMITTENT_POLICY } from '../../lib/history/intermittents.js';

describe('history config key', () => {
  it('defaults: 100 error lines, Perfherder windows 12/12, |t| > 7, 2%; intermittent over 20 runs', () => {
    const r = validateConfig({}, '/srv/master');
    expect(r.ok && r.config.history).to.deep.equal({
      maxErrorLines: 100,
      knownIssues: [],
      regression: { backWindow: 12, forwardWindow: 12, tThreshold: 7, minChangePercent: 2 },
      intermittent: { window: 20, minRuns: 5, maxFailRate: 0.9, minRecoveries: 2 },
    });
    // The same numbers the analyzer uses when given none.
    const { minFailRate, ...policy } = DEFAULT_INTERMITTENT_POLICY;
    expect(minFailRate).to.equal(0);
    expect(r.ok && r.config.history.intermittent).to.deep.equal(policy);
  });

  it('takes partial intermittent settings and refuses bad ones', () => {
    const r = validateConfig({ history: { intermittent: { window: 50, maxFailRate: 0.5 } } }, '/srv/master');
    expect(r.ok && r.config.history.intermittent).to.deep.equal({ window: 50, minRuns: 5, maxFailRate: 0.5, minRecoveries: 2 });
    const bad = validateConfig({ history: { intermittent: { window: 0, maxFailRate: 1.5, minRun: 3 } } }, '/srv/master');
    const problems = bad.ok ? [] : bad.problems.map((p) => p.path);
    expect(problems).to.include.members(['history.intermittent.window', 'history.intermittent.maxFailRate', 'history.intermittent.minRun']);
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
