/** Side-by-side tables of our figures and Buildbot's, with ratios and the targets. */
import type { E2eFigures } from './figures.js';
import { median } from './stats.js';

interface Row {
  label: string;
  value: (f: E2eFigures) => number;
  digits: number;
  /** 'higher': more is better (ratio ours/theirs); 'lower': less is better (ratio theirs/ours). */
  better: 'higher' | 'lower' | 'none';
  /** The ratio we promised, if any. */
  target?: number;
}

export const E2E_TARGETS = { buildsPerSecond: 10, cpuPerBuild: 10 };

const ROWS: Row[] = [
  { label: 'builds/s (first POST -> last complete)', value: (f) => f.buildsPerSecond, digits: 2, better: 'higher', target: E2E_TARGETS.buildsPerSecond },
  { label: 'wall time for N builds (s)', value: (f) => f.wallSeconds, digits: 2, better: 'lower' },
  { label: 'submission of N force POSTs (s)', value: (f) => f.submitSeconds, digits: 2, better: 'lower' },
  { label: 'force POST latency median (ms)', value: (f) => f.postMsMedian, digits: 1, better: 'lower' },
  { label: 'master CPU per build (ms)', value: (f) => f.masterCpuMsPerBuild, digits: 1, better: 'lower', target: E2E_TARGETS.cpuPerBuild },
  { label: 'master CPU during the run (% of one core)', value: (f) => f.masterCpuPercent, digits: 0, better: 'none' },
  { label: 'master peak RSS VmHWM (MiB)', value: (f) => f.masterPeakRssKiB / 1024, digits: 1, better: 'lower' },
  { label: 'DB bytes per build', value: (f) => f.dbBytesPerBuild, digits: 0, better: 'lower' },
  { label: 'per-build latency median (ms, POST -> complete)', value: (f) => f.latencyMsMedian, digits: 0, better: 'lower' },
  { label: 'per-build latency p95 (ms)', value: (f) => f.latencyMsP95, digits: 0, better: 'lower' },
  { label: 'builds not SUCCESS', value: (f) => f.buildsNotSuccess, digits: 0, better: 'none' },
  { label: 'CPU-s used by others in the window (noise)', value: (f) => f.othersCpuSeconds, digits: 1, better: 'none' },
];

function fmt(x: number | undefined, digits: number): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** Per-metric medians over several runs of one implementation (each figure's own median). */
export function medianFigures(runs: E2eFigures[]): E2eFigures {
  const keys = Object.keys(runs[0]) as (keyof E2eFigures)[];
  const out = { ...runs[0] } as Record<string, unknown>;
  for (const k of keys) if (typeof runs[0][k] === 'number') out[k] = median(runs.map((r) => r[k] as number));
  out.implementation = runs.length > 1 ? `${runs[0].implementation} (median of ${runs.length})` : runs[0].implementation;
  return out as unknown as E2eFigures;
}

export interface TargetVerdict {
  label: string;
  against: string;
  ratio: number;
  target: number;
  met: boolean;
}

export interface Column {
  title: string;
  figures: E2eFigures;
}

/**
 * Markdown table: our column, then each Buildbot column with a "buildmaster is" ratio column ("x" for
 * "times"). Targets are judged against every Buildbot column given.
 */
export function comparisonTable(ours: E2eFigures, others: Column[]): { table: string; verdicts: TargetVerdict[] } {
  const head = ['metric', 'buildmaster', ...others.flatMap((c) => [c.title, 'buildmaster is'])];
  const lines = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`];
  const verdicts: TargetVerdict[] = [];
  for (const r of ROWS) {
    const a = r.value(ours);
    const cells = [r.label, fmt(a, r.digits)];
    for (const c of others) {
      const b = r.value(c.figures);
      let ratioText = '';
      if (r.better !== 'none' && a > 0 && b > 0) {
        const ratio = r.better === 'higher' ? a / b : b / a;
        const word = r.better === 'higher' ? ['more', 'less'] : ['less', 'more'];
        ratioText = ratio >= 1 ? `${ratio.toFixed(1)}x ${word[0]}` : `${(1 / ratio).toFixed(1)}x ${word[1]}`;
        if (r.target !== undefined) {
          const met = ratio >= r.target;
          verdicts.push({ label: r.label, against: c.title, ratio, target: r.target, met });
          ratioText += met ? ` (target ${r.target}x: met)` : ` (target ${r.target}x: **missed**)`;
        }
      }
      cells.push(fmt(b, r.digits), ratioText);
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return { table: lines.join('\n'), verdicts };
}
