/**
 * `npm run bench [-- SCENARIO... [--n N] [--profile] [--skip-buildbot] [--keep]]`: the benchmarks,
 * one module per scenario under bench/scenarios/. Results are printed and appended to
 * bench/out/<scenario>.jsonl; bench/RESULTS.md holds the last recorded figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { e2eCommand } from './scenarios/e2e/index.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

const USAGE = `usage: npm run bench [-- [SCENARIO...] [options]]

scenarios (default: all):
  e2e   4 workers on a real local sshd, 4 builders, N forced builds of ShellCommand true,
        master as a separate process; compared with Buildbot 3.7 when /usr/bin/buildbot exists.
        Needs root (it creates throwaway users for a private sshd).

options:
  --n N               builds per run (default 200)
  --reps K            runs of each side, alternating; the table shows medians (default 1)
  --idle-builds K     sequential single builds after the burst (default 20; 0 skips)
  --profile           run the master under node --cpu-prof and print where its CPU went
  --skip-buildbot     do not run the Buildbot comparison
  --keep              keep the temp dir (master dir, master output, CPU profile)
  --timeout SECONDS   how long to wait for the N builds (default 420)
  --out FILE          JSON lines file for the results (default bench/out/<scenario>.jsonl)
  --no-build          do not rebuild dist/ first (the master runs from dist/)
  --master-node-arg A node option for the master process, repeatable; for experiments such as
                      --master-node-arg=--import=./bench/experiments/sqliteSynchronousNormal.mjs
`;

type Scenario = 'e2e';
const SCENARIOS: Scenario[] = ['e2e'];

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toTimeString().slice(0, 8)}] ${line}\n`);
}

/** The master runs from dist/ (bin/buildmaster.js): make sure it is the code in lib/. */
function build(): boolean {
  log('building dist/ (tsc -p tsconfig.build.json)');
  const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status === 0) return true;
  log(`the build reported errors:\n${r.stdout}${r.stderr}`);
  if (existsSync(join(repoRoot, 'dist/lib/cli/main.js'))) {
    log('going on with the emitted dist/ (tsc emits despite type errors)');
    return true;
  }
  return false;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        n: { type: 'string' },
        reps: { type: 'string' },
        'idle-builds': { type: 'string' },
        profile: { type: 'boolean' },
        'skip-buildbot': { type: 'boolean' },
        keep: { type: 'boolean' },
        timeout: { type: 'string' },
        out: { type: 'string' },
        'no-build': { type: 'boolean' },
        'master-node-arg': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = positionals.filter((p) => !SCENARIOS.includes(p as Scenario));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})\n`);
    return 2;
  }
  const num = (name: string, v: string | undefined, dflt: number, min: number) => {
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new Error(`--${name} wants an integer >= ${min}, not ${v}`);
    return x;
  };
  let n: number, reps: number, idleBuilds: number, timeoutSeconds: number;
  try {
    n = num('n', values.n, 200, 1);
    reps = num('reps', values.reps, 1, 1);
    idleBuilds = num('idle-builds', values['idle-builds'], 20, 0);
    timeoutSeconds = num('timeout', values.timeout, 420, 1);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }

  if (!values['no-build'] && !build()) return 1;
  const scenarios = positionals.length > 0 ? (positionals as Scenario[]) : SCENARIOS;
  let ok = true;
  for (const scenario of scenarios) {
    const out = values.out ?? join(repoRoot, 'bench', 'out', `${scenario}.jsonl`);
    try {
      switch (scenario) {
        case 'e2e':
          ok =
            (await e2eCommand({
              repoRoot,
              n,
              reps,
              idleBuilds,
              buildbot: !values['skip-buildbot'],
              profile: values.profile ?? false,
              keep: values.keep ?? false,
              timeoutSeconds,
              masterNodeArgs: values['master-node-arg'] ?? [],
              out,
              log,
              print: (text) => process.stdout.write(`${text}\n`),
            })) && ok;
          break;
      }
    } catch (err) {
      log(`${scenario}: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      ok = false;
    }
  }
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
