import { expect } from 'chai';
import { changeAtWindowEnd, detectChanges, welchT } from '../../lib/history/regression.js';

describe('history regression (Perfherder-style t-test)', () => {
  it('welchT matches values computed by hand', () => {
    // means 2 and 5, sample variances 1 and 10/3, n 3 and 4: t = 3 / sqrt(1/3 + (10/3)/4)
    expect(welchT([1, 2, 3], [3, 4, 6, 7])).to.be.closeTo(3 / Math.sqrt(1 / 3 + 10 / 3 / 4), 1e-12);
    expect(welchT([3, 4, 6, 7], [1, 2, 3])).to.be.closeTo(-3 / Math.sqrt(1 / 3 + 10 / 3 / 4), 1e-12);
    expect(welchT([5, 5], [5, 5, 5])).to.equal(0);
    expect(welchT([5, 5], [6, 6])).to.equal(Infinity);
    expect(welchT([], [1])).to.equal(0);
  });

  it('welchT agrees with scipy on a known series', () => {
    // scipy.stats.ttest_ind(before, after, equal_var=False).statistic = 8.4601695068779 (its sign is before − after)
    expect(welchT([11.2, 11.0, 11.5, 10.9, 11.3], [10.1, 9.8, 10.3, 10.0, 9.9])).to.be.closeTo(-8.460169506877888, 1e-9);
  });

  const noisy = (n: number, level: number, seed: number) => Array.from({ length: n }, (_, i) => level + (((i * 7 + seed) % 5) - 2) * 0.5);

  it('finds one change where a series steps up by 10%, at the right index', () => {
    const series = [...noisy(30, 100, 1), ...noisy(30, 110, 3)];
    const changes = detectChanges(series);
    expect(changes.map((c) => c.index)).to.deep.equal([30]);
    expect(changes[0]!.percent).to.be.closeTo(10, 0.5);
    expect(changes[0]!.t).to.be.greaterThan(7);
  });

  it('finds nothing in noise, in a change under 2%, or without a full window on either side', () => {
    expect(detectChanges(noisy(60, 100, 2))).to.deep.equal([]);
    // A 1% step with no noise at all: t is infinite, the change too small to report.
    expect(detectChanges([...Array(20).fill(100), ...Array(20).fill(101)])).to.deep.equal([]);
    expect(detectChanges([...noisy(8, 100, 1), ...noisy(30, 150, 2)])).to.deep.equal([]);
    expect(detectChanges([...noisy(30, 100, 1), ...noisy(8, 150, 2)])).to.deep.equal([]);
  });

  it('finds improvements too (negative percent)', () => {
    const [c] = detectChanges([...noisy(20, 200, 1), ...noisy(20, 150, 4)]);
    expect(c!.index).to.equal(20);
    expect(c!.percent).to.be.closeTo(-25, 1);
  });

  it('changeAtWindowEnd reports the change exactly when its forward window fills, once', () => {
    const series = [...noisy(30, 100, 1), ...noisy(30, 110, 3)];
    const found: number[] = [];
    for (let n = 1; n <= series.length; n++) {
      const tail = series.slice(Math.max(0, n - 25), n);
      const c = changeAtWindowEnd(tail);
      if (c) found.push(n - tail.length + c.index);
    }
    expect(found).to.deep.equal([30]);
  });

  it('honours its options', () => {
    const series = [...noisy(10, 100, 1), ...noisy(10, 103, 3)];
    expect(detectChanges(series, { backWindow: 5, forwardWindow: 5, tThreshold: 3 }).map((c) => c.index)).to.deep.equal([10]);
    expect(detectChanges(series, { backWindow: 5, forwardWindow: 5, tThreshold: 3, minChangePercent: 5 })).to.deep.equal([]);
  });
});
