/**
 * `npm run bench [-- SCENARIO... [--out FILE] [--no-build] [scenario options]]`: the benchmarks, one
 * module per scenario under bench/scenarios/ (listed in bench/scenarios/index.ts). Results are
 * printed and appended to bench/out/<scenario>.jsonl; bench/RESULTS.md holds the last recorded figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from './scenarios/index.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

function usage(): string {
  return `usage: npm run bench [-- [SCENARIO...] [options]]

common options:
  --out FILE   JSON lines file for the results (default bench/out/<scenario>.jsonl)
  --no-build   do not rebuild dist/ first (scenarios that start a master run it from dist/)

scenarios (default: those marked *); each takes its own options:

${SCENARIOS.map((s) => `${s.byDefault ? '*' : ' '} ${s.usage}`).join('\n\n')}
`;
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toTimeString().slice(0, 8)}] ${line}\n`);
}

/** Masters started by scenarios run from dist/ (bin/buildmaster.js): make sure it is the code in lib/. */
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
  const names: string[] = [];
  const rest: string[] = [];
  let out: string | undefined;
  let noBuild = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(usage());
      return 0;
    } else if (a === '--no-build') noBuild = true;
    else if (a === '--out') out = argv[++i];
    else if (a.startsWith('--out=')) out = a.slice('--out='.length);
    else if (!a.startsWith('-') && rest.length === 0) names.push(a);
    else rest.push(a);
  }
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})\n`);
    return 2;
  }
  const chosen = names.length > 0 ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS.filter((s) => s.byDefault);
  if (!noBuild && !build()) return 1;
  let ok = true;
  for (const s of chosen) {
    try {
      ok =
        (await s.run({
          repoRoot,
          argv: rest,
          out: out ?? join(repoRoot, 'bench', 'out', `${s.name}.jsonl`),
          log,
          print: (text) => process.stdout.write(`${text}\n`),
        })) && ok;
    } catch (err) {
      log(`${s.name}: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      ok = false;
    }
  }
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
