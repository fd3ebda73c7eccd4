/**
 * Change detection on a series of durations, as Perfherder does it (treeherder's
 * perf/analysis.py): for each point i, a Welch t statistic between the `backWindow` values
 * before it and the `forwardWindow` values from it on; a change is a point whose |t| exceeds the
 * threshold and is no lower than its neighbours' (the most likely point of change, not every
 * point near it), and whose means differ by at least minChangePercent.
 */

export interface RegressionOptions {
  backWindow: number;
  forwardWindow: number;
  tThreshold: number;
  minChangePercent: number;
}

export const REGRESSION_DEFAULTS: Readonly<RegressionOptions> = { backWindow: 12, forwardWindow: 12, tThreshold: 7, minChangePercent: 2 };

function meanAndVariance(xs: readonly number[]): { mean: number; variance: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  // Sample variance (n − 1), 0 for a single value, as Perfherder's analyze().
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, variance, n };
}

/**
 * Welch's t of `after` against `before`: (mean₂ − mean₁) / √(s₁²/n₁ + s₂²/n₂). 0 when either is
 * empty or the means are equal; ±Infinity when both have no variance but different means.
 */
export function welchT(before: readonly number[], after: readonly number[]): number {
  if (before.length === 0 || after.length === 0) return 0;
  const a = meanAndVariance(before);
  const b = meanAndVariance(after);
  const delta = b.mean - a.mean;
  if (delta === 0) return 0;
  if (a.variance === 0 && b.variance === 0) return delta > 0 ? Infinity : -Infinity;
  return delta / Math.sqrt(a.variance / a.n + b.variance / b.n);
}

export interface ChangePoint {
  /** Index of the first value after the change. */
  index: number;
  t: number;
  oldMean: number;
  newMean: number;
  /** (new − old) / old × 100; positive: slower. */
  percent: number;
}

function pointAt(values: readonly number[], i: number, o: RegressionOptions): ChangePoint & { full: boolean } {
  const before = values.slice(Math.max(0, i - o.backWindow), i);
  const after = values.slice(i, i + o.forwardWindow);
  const t = welchT(before, after);
  const oldMean = before.length ? meanAndVariance(before).mean : 0;
  const newMean = after.length ? meanAndVariance(after).mean : 0;
  const percent = oldMean === 0 ? (newMean === 0 ? 0 : Infinity) : ((newMean - oldMean) / oldMean) * 100;
  return { index: i, t, oldMean, newMean, percent, full: before.length >= o.backWindow && after.length >= o.forwardWindow };
}

/** The change points of a whole series (oldest first). */
export function detectChanges(values: readonly number[], opts: Partial<RegressionOptions> = {}): ChangePoint[] {
  const o = { ...REGRESSION_DEFAULTS, ...opts };
  const points = values.map((_, i) => pointAt(values, i, o));
  const out: ChangePoint[] = [];
  for (let i = 1; i < values.length; i++) {
    if (isChange(points, i, o)) {
      const { full: _full, ...p } = points[i]!;
      out.push(p);
    }
  }
  return out;
}

function isChange(points: readonly (ChangePoint & { full: boolean })[], i: number, o: RegressionOptions): boolean {
  const p = points[i]!;
  if (!p.full || Math.abs(p.t) <= o.tThreshold || Math.abs(p.percent) < o.minChangePercent) return false;
  // The neighbours may have fewer values (the series' end); their t still counts, as in Perfherder.
  if (i > 0 && Math.abs(points[i - 1]!.t) > Math.abs(p.t)) return false;
  if (i + 1 < points.length && Math.abs(points[i + 1]!.t) > Math.abs(p.t)) return false;
  return true;
}

/**
 * Incremental detection, for a series that just got its newest value: whether the point
 * `forwardWindow` values from the end became a change (it could not be judged before its forward
 * window filled). Feed it at least backWindow + forwardWindow + 1 values, oldest first.
 */
export function changeAtWindowEnd(values: readonly number[], opts: Partial<RegressionOptions> = {}): ChangePoint | undefined {
  const o = { ...REGRESSION_DEFAULTS, ...opts };
  const i = values.length - o.forwardWindow;
  if (i < o.backWindow || i < 1) return undefined;
  const points = [i - 1, i, i + 1].filter((k) => k < values.length).map((k) => pointAt(values, k, o));
  const around = [points[0]!, points[1]!, ...(points[2] ? [points[2]] : [])];
  // isChange wants the points by index: put them where it looks.
  const sparse: (ChangePoint & { full: boolean })[] = [];
  around.forEach((p) => (sparse[p.index] = p));
  sparse.length = values.length;
  if (!isChange(sparse, i, o)) return undefined;
  const { full: _full, ...p } = sparse[i]!;
  return p;
}
