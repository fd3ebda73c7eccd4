import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../../lib/cli/main.js';
import { Output } from '../../lib/cli/output.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const binPath = fileURLToPath(new URL('../../bin/buildmaster.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process (fast; used for most cases). */
export async function runCli(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = new Output(
    (t) => void (stdout += t),
    (t) => void (stderr += t),
  );
  const code = await main(argv, out);
  return { code, stdout, stderr };
}

/** Makes sure dist/ exists so the real launcher can run (npm test builds it; a lone mocha run may not have). */
export function ensureBuilt(): void {
  if (existsSync(new URL('../../dist/lib/cli/main.js', import.meta.url))) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
}

/** Runs the real launcher, bin/buildmaster.js, as a user would (npx buildmaster …). */
export function runBin(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [binPath, ...argv], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
