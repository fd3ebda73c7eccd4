/**
 * A shell step's `logfiles` ({ log name: path on the slave, relative to the workdir }). Buildbot's
 * worker follows them while the command runs; we read each once the command has ended, into a
 * log of that name (stdout lines). With `lazylogfiles` a file that does not exist gets no log.
 */
import type { Platform } from '../workers/platforms/platform.js';
import { cmdQuotePath, psQuote } from '../workers/platforms/windows.js';
import type { StepContext } from './types.js';

/** A command printing the file's bytes on stdout and exiting 3 when it does not exist. */
export function catCommand(platform: Platform, path: string): string | string[] {
  switch (platform.shell) {
    case 'sh':
      return ['/bin/sh', '-c', 'test -f "$1" || exit 3; exec cat -- "$1"', 'sh', path];
    case 'cmd':
      return `if not exist ${cmdQuotePath(path)} (exit 3) else (type ${cmdQuotePath(path)})`;
    case 'powershell': {
      const p = psQuote(path);
      return `if (-not (Test-Path -LiteralPath ${p} -PathType Leaf)) { exit 3 }; [Console]::Out.Write([IO.File]::ReadAllText(${p}))`;
    }
  }
}

export async function readLogfiles(ctx: StepContext, logfiles: Record<string, string>, lazy: boolean): Promise<void> {
  for (const [name, file] of Object.entries(logfiles)) {
    const path = ctx.platform.isAbsolute(file) ? file : ctx.platform.joinPath(ctx.workdir, file);
    if (lazy && !(await ctx.conn.pathExists(path).catch(() => false))) continue;
    const log = await ctx.addLog(name);
    const r = await ctx.conn.run({
      command: catCommand(ctx.platform, path),
      timeoutS: 300,
      signal: ctx.signal,
      onStdout: (t) => log.addStdout(t),
    });
    // The log stays (empty) for a missing file, as Buildbot's non-lazy logfiles do.
    await log.finish();
    if (r.ended === 'interrupted' || r.ended === 'connectionLost') return;
  }
}
