import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The Debian python that has buildbot 3.7 (not a pyenv shim). */
const PYTHON = '/usr/bin/python3';
const HARNESS = fileURLToPath(new URL('./buildbotHarness.py', import.meta.url));

let available: boolean | undefined;

function buildbotImportable(): boolean {
  available ??= spawnSync(PYTHON, ['-c', 'import buildbot.db.logs, sqlalchemy'], { stdio: 'ignore' }).status === 0;
  return available;
}

/** Skip the test when python's buildbot is missing, except under CI, where that is a failure. */
export function requireBuildbotPython(ctx: Mocha.Context): void {
  if (buildbotImportable()) return;
  if (process.env.CI) throw new Error(`CI is set but ${PYTHON} cannot import buildbot: apt-get install buildbot`);
  ctx.skip();
}

/** Run one request through buildbotHarness.py (Buildbot's own log code). */
export function buildbot<T>(request: Record<string, unknown>): T {
  const r = spawnSync(PYTHON, [HARNESS], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`buildbotHarness failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** True when python's lz4 module (Buildbot's lz4 compression) is importable. */
export function pythonHasLz4(): boolean {
  return spawnSync(PYTHON, ['-c', 'import lz4.block'], { stdio: 'ignore' }).status === 0;
}
