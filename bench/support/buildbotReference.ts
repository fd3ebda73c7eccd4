/**
 * The reference side of the e2e scenario: the real Buildbot 3.7 measured by
 * ../shared/bench/buildbot/bench.py (`throughput --n N`), which prints one JSON object.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { E2eFigures } from './figures.js';

export const BUILDBOT = '/usr/bin/buildbot';
export const PYTHON = '/usr/bin/python3';

export function benchPyPath(repoRoot: string): string {
  return resolve(repoRoot, '../shared/bench/buildbot/bench.py');
}

/** Why the reference cannot run here, or undefined. */
export function buildbotUnavailable(repoRoot: string): string | undefined {
  if (!existsSync(BUILDBOT)) return `${BUILDBOT} is missing (apt-get install buildbot buildbot-worker)`;
  if (!existsSync(benchPyPath(repoRoot))) return `${benchPyPath(repoRoot)} is missing`;
  return undefined;
}

/** The raw JSON bench.py printed (see its scenario_throughput for the fields). */
export type BenchPyResult = Record<string, any>;

export async function runBuildbotThroughput(repoRoot: string, n: number, log: (line: string) => void): Promise<BenchPyResult> {
  const script = benchPyPath(repoRoot);
  const child = spawn(PYTHON, [script, 'throughput', '--n', String(n)], { cwd: dirname(script), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString('utf8').split('\n')) if (line.trim()) log(`  buildbot| ${line}`);
  });
  // Stop it by PID if we are interrupted: bench.py then stops its own master and workers.
  const onSignal = () => child.kill('SIGTERM');
  process.once('SIGINT', onSignal);
  try {
    const code = await new Promise<number | null>((res) => child.on('close', res));
    const line = stdout.trim().split('\n').pop() ?? '';
    let result: BenchPyResult;
    try {
      result = JSON.parse(line) as BenchPyResult;
    } catch {
      throw new Error(`bench.py exited ${code} without a JSON result: ${stdout.slice(0, 500)}`);
    }
    if (!result.ok) throw new Error(`bench.py failed: ${result.error}`);
    return result;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

export function buildbotFigures(r: BenchPyResult): E2eFigures {
  return {
    implementation: 'Buildbot 3.7',
    n: r.n,
    buildsPerSecond: r.builds_per_s,
    wallSeconds: r.wall_s,
    submitSeconds: r.submit_s,
    postMsMedian: r.post_force_ms?.median,
    masterCpuMsPerBuild: r.master_cpu_ms_per_build,
    masterCpuPercent: (100 * r.master_cpu_s) / r.wall_s,
    masterPeakRssKiB: r.master_VmHWM_kB,
    dbBytesPerBuild: r.db_bytes_per_build,
    latencyMsMedian: r.latency_client_s?.median * 1000,
    latencyMsP95: r.latency_client_s?.p95 * 1000,
    buildsNotSuccess: r.results_not_success,
    buildsCreated: r.builds_created,
    othersCpuSeconds: r.foreign_cpu_s + r.workers_cpu_s,
  };
}

/**
 * The anchor: Buildbot 3.7 on this machine type, N=200, median of the 5 quiet runs of
 * ../shared/bench/buildbot/results/raw.jsonl (2026-11-21; RESULTS.md there). Shown beside a fresh
 * run, and instead of one when Buildbot is not installed or the machine is noisy.
 */
export const BUILDBOT_ANCHOR_N200: E2eFigures = {
  implementation: 'Buildbot 3.7 (anchor: quiet runs, 2026-11-21)',
  n: 200,
  buildsPerSecond: 6.056,
  wallSeconds: 33.023,
  submitSeconds: 17.709,
  postMsMedian: 88.11,
  masterCpuMsPerBuild: 147.95,
  masterCpuPercent: 85,
  masterPeakRssKiB: 100144,
  dbBytesPerBuild: 1536,
  latencyMsMedian: 9466,
  latencyMsP95: 14399,
  buildsNotSuccess: 0,
  buildsCreated: 200,
  othersCpuSeconds: 2.5,
};
