/**
 * `npm run bench -- e2e`: measure our master, then (when /usr/bin/buildbot exists) the real Buildbot
 * 3.7 on the same load with ../shared/bench/buildbot/bench.py, and print both side by side.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { buildbotFigures, buildbotUnavailable, runBuildbotThroughput, type BenchPyResult } from '../../support/buildbotReference.js';
import { formatProfile } from '../../support/cpuProfile.js';
import type { E2eFigures } from '../../support/figures.js';
import { machineDescription } from '../../support/procStats.js';
import { comparisonTable } from '../../support/report.js';
import { sshdUnavailable } from '../../support/sshd.js';
import { runE2e } from './measure.js';

export interface E2eCommandOptions {
  repoRoot: string;
  n: number;
  idleBuilds: number;
  buildbot: boolean;
  profile: boolean;
  keep: boolean;
  timeoutSeconds: number;
  masterNodeArgs: string[];
  /** JSON lines file the results are appended to. */
  out: string;
  log: (line: string) => void;
  print: (text: string) => void;
}

/** Returns false when the scenario could not run or a build failed; missed targets are printed, not failed. */
export async function e2eCommand(o: E2eCommandOptions): Promise<boolean> {
  const cannot = sshdUnavailable();
  if (cannot) {
    o.print(`e2e: skipped: ${cannot}. Run it as root: sudo npm run bench -- e2e`);
    return false;
  }
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const machine = machineDescription();
  o.log(`e2e: N=${o.n} on ${machine}${o.masterNodeArgs.length ? `; master node options: ${o.masterNodeArgs.join(' ')}` : ''}`);

  const ours = await runE2e({
    repoRoot: o.repoRoot,
    n: o.n,
    idleBuilds: o.idleBuilds,
    profile: o.profile,
    keep: o.keep,
    timeoutSeconds: o.timeoutSeconds,
    masterNodeArgs: o.masterNodeArgs,
    log: o.log,
  });

  let theirs: E2eFigures | undefined;
  let raw: BenchPyResult | undefined;
  const noBuildbot = o.buildbot ? buildbotUnavailable(o.repoRoot) : 'not asked for (--skip-buildbot)';
  if (noBuildbot) {
    o.log(`e2e: no Buildbot comparison: ${noBuildbot}`);
  } else {
    o.log(`e2e: running Buildbot 3.7 on the same load: /usr/bin/python3 ../shared/bench/buildbot/bench.py throughput --n ${o.n}`);
    try {
      raw = await runBuildbotThroughput(o.repoRoot, o.n, o.log);
      theirs = buildbotFigures(raw);
    } catch (err) {
      o.log(`e2e: the Buildbot run failed: ${(err as Error).message}`);
    }
  }

  const { table, verdicts } = comparisonTable(ours.figures, theirs);
  const variant = o.masterNodeArgs.length ? `\nmaster node options: ${o.masterNodeArgs.join(' ')}\n` : '';
  o.print(`\n## e2e, N=${o.n} (${date})\n\nmachine: ${machine}\n${variant}\n${table}\n`);
  const idle = ours.details.idle_single_build_latency_ms as { median: number } | undefined;
  const idleTheirs = raw?.idle_single_build_latency_ms?.median as number | undefined;
  if (idle) o.print(`idle single-build latency median (ms, POST -> complete): ${idle.median.toFixed(0)}${idleTheirs ? ` (Buildbot ${idleTheirs.toFixed(0)})` : ''}`);
  o.print(`builds per worker: ${JSON.stringify(ours.details.builds_per_worker)}; rows after: ${JSON.stringify(ours.details.db_rows_after)}`);
  if (ours.profile) o.print(`\n${formatProfile(ours.profile)}\n${ours.profileFile ? `(profile: ${ours.profileFile})` : ''}`);

  const missed = verdicts.filter((v) => !v.met);
  if (missed.length > 0) {
    o.print(`\ntargets missed: ${missed.map((v) => `${v.label}: ${v.ratio.toFixed(1)}x of ${v.target}x`).join('; ')}`);
    if (!o.profile) o.print('re-run with --profile to see where the master spends its CPU (node --cpu-prof)');
  }

  await mkdir(dirname(o.out), { recursive: true });
  const record = { scenario: 'e2e', date_utc: date, machine, ours: ours.details, figures: ours.figures, buildbot: raw ?? null, targets: verdicts };
  await appendFile(o.out, `${JSON.stringify(record)}\n`);
  o.log(`e2e: results appended to ${o.out}`);
  return ours.figures.buildsNotSuccess === 0;
}
