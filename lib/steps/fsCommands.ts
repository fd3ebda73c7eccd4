/**
 * Small file-system commands on the slave, per platform shell, for the Git and transfer steps
 * (what Buildbot's worker does with its listdir, cpdir and rmdir commands).
 */
import type { Platform } from '../workers/platforms/platform.js';
import { cmdQuotePath, psQuote } from '../workers/platforms/windows.js';
import type { StepContext } from './types.js';
import { throwIfAborted } from './remoteShell.js';

/** Exit code of listCommand when the directory does not exist. */
export const NO_SUCH_DIR = 3;

/** Prints the names in a directory (hidden ones included), one per line; exits 3 if it is missing. */
export function listCommand(platform: Platform, dir: string): string | string[] {
  switch (platform.shell) {
    case 'sh':
      return ['/bin/sh', '-c', 'test -d "$1" || exit 3; cd -- "$1" && ls -A', 'sh', dir];
    case 'cmd':
      return `if not exist ${cmdQuotePath(dir + '\\')} (exit 3) else (dir /b /a ${cmdQuotePath(dir)})`;
    case 'powershell': {
      const p = psQuote(dir);
      return `if (-not (Test-Path -LiteralPath ${p} -PathType Container)) { exit 3 }; Get-ChildItem -LiteralPath ${p} -Force -Name`;
    }
  }
}

/** Copies directory `from` to `to` (which must not exist), keeping modes and times. */
export function copyDirCommand(platform: Platform, from: string, to: string): string | string[] {
  switch (platform.shell) {
    case 'sh':
      return ['cp', '-pR', from, to];
    case 'cmd':
      return `xcopy ${cmdQuotePath(from)} ${cmdQuotePath(to + '\\')} /E /I /H /K /Y /Q`;
    case 'powershell':
      return `Copy-Item -LiteralPath ${psQuote(from)} -Destination ${psQuote(to)} -Recurse -Force`;
  }
}

/** The names in a remote directory, or undefined when it does not exist. */
export async function listDir(ctx: StepContext, dir: string): Promise<string[] | undefined> {
  const r = await ctx.conn.runCapture({ command: listCommand(ctx.platform, dir), createWorkdir: false, timeoutS: 120, signal: ctx.signal });
  throwIfAborted(r);
  if (r.rc === NO_SUCH_DIR) return undefined;
  if (r.rc !== 0) throw new Error(`cannot list ${dir} on worker ${ctx.workerName}: ${r.stderr.trim() || r.message}`);
  return r.stdout.split(/\r?\n/).filter((n) => n !== '' && n !== '.' && n !== '..');
}
