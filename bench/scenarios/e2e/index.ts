/**
 * `npm run bench -- e2e`: measure our master, then (when /usr/bin/buildbot exists) the real Buildbot
 * 3.7 on the same load with ../shared/bench/buildbot/bench.py, and print both side by side, with the
 * recorded quiet-machine Buildbot anchor as well. `--reps K` alternates K runs of each and reports
 * medians: the machine may be shared, and one run says little then.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { dirname } from 'node:path';
import {
  BUILDBOT_ANCHOR_N200,
  buildbotFigures,
  buildbotUnavailable,
  runBuildbotThroughput,
  type BenchPyResult,
} from '../../support/buildbotReference.js';
import { formatProfile } from '../../support/cpuProfile.js';
import type { E2eFigures } from '../../support/figures.js';
import { machineDescription } from '../../support/procStats.js';
import { comparisonTable, medianFigures, type Column } from '../../support/report.js';
import { sshdUnavailable } from '../../support/sshd.js';
import { median } from '../../support/stats.js';
import { runE2e, type E2eResult } from './measure.js';
import { intOption } from '../options.js';
import type { BenchScenario } from '../types.js';

export interface E2eCommandOptions {
  repoRoot: string;
  n: number;
  reps: number;
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
  o.log(`e2e: N=${o.n}, ${o.reps} run(s) on ${machine}${o.masterNodeArgs.length ? `; master node options: ${o.masterNodeArgs.join(' ')}` : ''}`);
  const noBuildbot = o.buildbot ? buildbotUnavailable(o.repoRoot) : 'not asked for (--skip-buildbot)';
  if (noBuildbot) o.log(`e2e: no fresh Buildbot run: ${noBuildbot}`);

  const ours: E2eResult[] = [];
  const theirs: { figures: E2eFigures; raw: BenchPyResult }[] = [];
  for (let rep = 1; rep <= o.reps; rep++) {
    if (o.reps > 1) o.log(`e2e: run ${rep} of ${o.reps}`);
    const r = await runE2e({
      repoRoot: o.repoRoot,
      n: o.n,
      idleBuilds: o.idleBuilds,
      profile: o.profile,
      keep: o.keep,
      timeoutSeconds: o.timeoutSeconds,
      masterNodeArgs: o.masterNodeArgs,
      log: o.log,
    });
    ours.push(r);
    o.log(`e2e: buildmaster: ${r.figures.buildsPerSecond.toFixed(2)} builds/s, ${r.figures.masterCpuMsPerBuild.toFixed(1)} ms CPU per build`);
    let raw: BenchPyResult | undefined;
    if (!noBuildbot) {
      o.log(`e2e: Buildbot 3.7 on the same load: /usr/bin/python3 ../shared/bench/buildbot/bench.py throughput --n ${o.n}`);
      try {
        raw = await runBuildbotThroughput(o.repoRoot, o.n, o.log);
        theirs.push({ figures: buildbotFigures(raw), raw });
        o.log(`e2e: Buildbot: ${raw.builds_per_s} builds/s, ${raw.master_cpu_ms_per_build} ms CPU per build`);
      } catch (err) {
        o.log(`e2e: the Buildbot run failed: ${(err as Error).message}`);
      }
    }
    const record = {
      scenario: 'e2e',
      date_utc: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      machine,
      rep,
      ours: r.details,
      figures: r.figures,
      buildbot: raw ?? null,
    };
    await mkdir(dirname(o.out), { recursive: true });
    await appendFile(o.out, `${JSON.stringify(record)}\n`);
  }

  const oursFig = medianFigures(ours.map((r) => r.figures));
  const columns: Column[] = [];
  if (theirs.length > 0) columns.push({ title: theirs.length > 1 ? `Buildbot 3.7, same runs (median of ${theirs.length})` : 'Buildbot 3.7, same run', figures: medianFigures(theirs.map((t) => t.figures)) });
  if (o.n === BUILDBOT_ANCHOR_N200.n) columns.push({ title: 'Buildbot 3.7 anchor (quiet)', figures: BUILDBOT_ANCHOR_N200 });
  const { table, verdicts } = comparisonTable(oursFig, columns);
  const variant = o.masterNodeArgs.length ? `\nmaster node options: ${o.masterNodeArgs.join(' ')}\n` : '';
  o.print(`\n## e2e, N=${o.n}, ${o.reps} run(s) (${date})\n\nmachine: ${machine}\n${variant}\n${table}\n`);

  if (o.reps > 1) {
    o.print('| run | buildmaster builds/s | CPU ms/build | noise CPU-s | Buildbot builds/s | CPU ms/build | noise CPU-s |');
    o.print('|---:|---:|---:|---:|---:|---:|---:|');
    ours.forEach((r, i) => {
      const t = theirs[i]?.figures;
      const f = r.figures;
      o.print(
        `| ${i + 1} | ${f.buildsPerSecond.toFixed(2)} | ${f.masterCpuMsPerBuild.toFixed(1)} | ${f.othersCpuSeconds.toFixed(1)} | ${t ? t.buildsPerSecond.toFixed(2) : '-'} | ${t ? t.masterCpuMsPerBuild.toFixed(1) : '-'} | ${t ? t.othersCpuSeconds.toFixed(1) : '-'} |`,
      );
    });
    o.print('');
  }
  const idle = ours.map((r) => (r.details.idle_single_build_latency_ms as { median: number } | undefined)?.median).filter((x): x is number => x !== undefined);
  const idleTheirs = theirs.map((t) => t.raw.idle_single_build_latency_ms?.median as number | undefined).filter((x): x is number => x !== undefined);
  if (idle.length) {
    const bb = idleTheirs.length ? `Buildbot ${median(idleTheirs).toFixed(0)}, anchor 192` : 'Buildbot anchor 192';
    o.print(`idle single-build latency median (ms, POST -> complete): ${median(idle).toFixed(0)} (${bb})`);
  }
  const last = ours[ours.length - 1];
  o.print(`master CPU ms per build by thread (last run): ${JSON.stringify(last.details.master_cpu_ms_per_build_by_thread)}`);
  o.print(`builds per worker (last run): ${JSON.stringify(last.details.builds_per_worker)}; results: ${JSON.stringify(last.details.results_histogram)}`);
  for (const r of ours) {
    if (r.profile) o.print(`\n${formatProfile(r.profile, 15, `first POST to last completion of ${o.n} builds`)}\n${r.profileFile ? `(profile: ${r.profileFile})` : ''}`);
  }

  const missed = verdicts.filter((v) => !v.met);
  if (missed.length > 0) {
    o.print(`\ntargets missed: ${missed.map((v) => `${v.label} vs ${v.against}: ${v.ratio.toFixed(1)}x of ${v.target}x`).join('; ')}`);
    if (!o.profile) o.print('re-run with --profile to see where the master spends its CPU (node --cpu-prof)');
  }
  o.log(`e2e: results appended to ${o.out}`);
  return ours.every((r) => r.figures.buildsNotSuccess === 0);
}

const E2E_USAGE = `e2e   4 workers on a real local sshd, 4 builders, N forced builds of ShellCommand true,
      master as a separate process; compared with Buildbot 3.7 when /usr/bin/buildbot exists.
      Needs root (it creates throwaway users for a private sshd).
      --n N               builds per run (default 200)
      --reps K            runs of each side, alternating; the table shows medians (default 1)
      --idle-builds K     sequential single builds after the burst (default 20; 0 skips)
      --profile           run the master under node --cpu-prof and print where its CPU went
      --skip-buildbot     do not run the Buildbot comparison
      --keep              keep the temp dir (master dir, master output, CPU profile)
      --timeout SECONDS   how long to wait for the N builds (default 420)
      --master-node-arg A node option for the master process, repeatable; for experiments such as
                          --master-node-arg=--import=./bench/experiments/sqliteSynchronousNormal.mjs`;

export const scenario: BenchScenario = {
  name: 'e2e',
  usage: E2E_USAGE,
  byDefault: true,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.argv,
      options: {
        n: { type: 'string' },
        reps: { type: 'string' },
        'idle-builds': { type: 'string' },
        profile: { type: 'boolean' },
        'skip-buildbot': { type: 'boolean' },
        keep: { type: 'boolean' },
        timeout: { type: 'string' },
        'master-node-arg': { type: 'string', multiple: true },
      },
    });
    return e2eCommand({
      repoRoot: ctx.repoRoot,
      n: intOption('n', values.n, 200, 1),
      reps: intOption('reps', values.reps, 1, 1),
      idleBuilds: intOption('idle-builds', values['idle-builds'], 20, 0),
      buildbot: !values['skip-buildbot'],
      profile: values.profile ?? false,
      keep: values.keep ?? false,
      timeoutSeconds: intOption('timeout', values.timeout, 420, 1),
      masterNodeArgs: values['master-node-arg'] ?? [],
      out: ctx.out,
      log: ctx.log,
      print: ctx.print,
    });
  },
};
