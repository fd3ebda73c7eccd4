/** Small statistics helpers, computed as bench.py does (nearest-rank percentiles). */
export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile, p in 0..100 (bench.py's pct). */
export function percentile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  const k = Math.max(0, Math.min(v.length - 1, Math.round((p / 100) * v.length + 0.5) - 1));
  return v[k];
}

export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function summarize(values: number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  return {
    n: values.length,
    median: median(values),
    p95: percentile(values, 95),
    min: Math.min(...values),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
