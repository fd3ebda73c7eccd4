/** Side-by-side table of our figures and Buildbot's, with ratios and the targets. */
import type { E2eFigures } from './figures.js';

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
  { label: 'master CPU per build (ms)', value: (f) => f.masterCpuMsPerBuild, digits: 2, better: 'lower', target: E2E_TARGETS.cpuPerBuild },
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

export interface TargetVerdict {
  label: string;
  ratio: number;
  target: number;
  met: boolean;
}

/** Markdown table; the ratio column says how many times better we are ("x" for "times"). */
export function comparisonTable(ours: E2eFigures, theirs?: E2eFigures): { table: string; verdicts: TargetVerdict[] } {
  const header = theirs
    ? ['| metric | buildmaster | Buildbot 3.7 | buildmaster is |', '|---|---:|---:|---:|']
    : ['| metric | buildmaster |', '|---|---:|'];
  const lines = [...header];
  const verdicts: TargetVerdict[] = [];
  for (const r of ROWS) {
    const a = r.value(ours);
    if (!theirs) {
      lines.push(`| ${r.label} | ${fmt(a, r.digits)} |`);
      continue;
    }
    const b = r.value(theirs);
    let ratioText = '';
    if (r.better !== 'none' && a > 0 && b > 0) {
      const ratio = r.better === 'higher' ? a / b : b / a;
      ratioText = ratio >= 1 ? `${ratio.toFixed(1)}x ${r.better === 'higher' ? 'more' : 'less'}` : `${(1 / ratio).toFixed(1)}x ${r.better === 'higher' ? 'less' : 'more'}`;
      if (r.target !== undefined) {
        const met = ratio >= r.target;
        verdicts.push({ label: r.label, ratio, target: r.target, met });
        ratioText += met ? ` (target ${r.target}x: met)` : ` (target ${r.target}x: **missed**)`;
      }
    }
    lines.push(`| ${r.label} | ${fmt(a, r.digits)} | ${fmt(b, r.digits)} | ${ratioText} |`);
  }
  return { table: lines.join('\n'), verdicts };
}
