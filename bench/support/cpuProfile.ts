/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): where the master's CPU went, by function
 * (file:function:line, self and inclusive time) and by file.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC on Linux, as process.hrtime). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of the monotonic clock, in microseconds: `process.hrtime.bigint() / 1000n` of the same machine. */
export interface ProfileWindow {
  startUs: number;
  endUs: number;
}

/** Now on the clock V8 stamps its samples with. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface CostRow {
  /** file:function:line (or a V8 pseudo-frame such as (garbage collector)). */
  where: string;
  selfMs: number;
  /** Inclusive of callees; each function counted once per sample, however deep the recursion. */
  totalMs: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Without (idle): time the process spent on the CPU. */
  busyMs: number;
  /** Every function seen, heaviest self time first. */
  functions: CostRow[];
  /** Self time per file, heaviest first. */
  files: { file: string; selfMs: number }[];
}

/** Project files relative to the repository, packages from node_modules/, node internals as they are. */
export function shortUrl(url: string, repoRoot: string): string {
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + 1);
  return u.startsWith(`${repoRoot}/`) ? u.slice(repoRoot.length + 1) : u;
}

/** The whole profile, or only the samples taken inside `window` (e.g. the benchmark's measured span). */
export function summarizeProfile(file: string, repoRoot: string, window?: ProfileWindow): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keys = new Map<number, string>();
  const keyOf = (n: ProfileNode): string => {
    let k = keys.get(n.id);
    if (k === undefined) {
      const cf = n.callFrame;
      const name = cf.functionName || '(anonymous)';
      k = cf.url ? `${shortUrl(cf.url, repoRoot)}:${name}:${cf.lineNumber + 1}` : name;
      keys.set(n.id, k);
    }
    return k;
  };

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    totalUs += us;
    const leaf = byId.get(profile.samples[i]);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    add(self, keyOf(leaf), us);
    add(files, leaf.callFrame.url ? shortUrl(leaf.callFrame.url, repoRoot) : leaf.callFrame.functionName, us);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (n.callFrame.functionName === '(root)') break;
      const k = keyOf(n);
      if (!seen.has(k)) {
        seen.add(k);
        add(total, k, us);
      }
    }
  }
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    totalMs: ms(totalUs),
    busyMs: ms(totalUs - idleUs),
    functions: [...total.entries()]
      .map(([where, us]) => ({ where, selfMs: ms(self.get(where) ?? 0), totalMs: ms(us) }))
      .sort((a, b) => b.selfMs - a.selfMs),
    files: [...files.entries()].sort((a, b) => b[1] - a[1]).map(([f, us]) => ({ file: f, selfMs: ms(us) })),
  };
}

/** A plain-text report: top functions by self time, project functions by inclusive time, top files. */
export function formatProfile(s: ProfileSummary, top = 15, what = 'the whole run'): string {
  const pct = (x: number) => `${((100 * x) / (s.busyMs || 1)).toFixed(1)}%`;
  const lines = [`CPU profile of the master, ${what}: ${s.busyMs} ms on CPU of ${s.totalMs} ms sampled`, '', 'top functions by self time:'];
  for (const r of s.functions.slice(0, top)) lines.push(`  ${String(r.selfMs).padStart(8)} ms ${pct(r.selfMs).padStart(6)}  ${r.where}`);
  lines.push('', 'our code by inclusive time (callees included):');
  const ours = s.functions.filter((r) => /^(dist\/)?lib\//.test(r.where)).sort((a, b) => b.totalMs - a.totalMs);
  for (const r of ours.slice(0, top)) lines.push(`  ${String(r.totalMs).padStart(8)} ms ${pct(r.totalMs).padStart(6)}  ${r.where}`);
  lines.push('', 'files by self time:');
  for (const f of s.files.slice(0, top)) lines.push(`  ${String(f.selfMs).padStart(8)} ms ${pct(f.selfMs).padStart(6)}  ${f.file}`);
  return lines.join('\n');
}
