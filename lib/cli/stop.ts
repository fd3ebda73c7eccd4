import type { Command } from 'commander';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { SHUTDOWN_BUILD_BOUND_S } from '../config/schemas/master.js';
import { BuildmasterError, UsageError } from '../errors/index.js';
import { masterPaths } from '../master/paths.js';
import { runningPid } from '../master/pidFile.js';
import { readStatus } from '../master/statusFile.js';
import { EXIT_STOPPED_UNCLEAN, ExitStatus, stopExitCode } from './exitStatus.js';
import type { Output } from './output.js';

export interface StopOptions {
  /** commander's --no-wait sets this false. */
  wait?: boolean;
  clean?: boolean;
  quiet?: boolean;
  /** Seconds to wait before stopping at once (a second SIGTERM). */
  timeout?: string;
}

/** Beyond the build bound: 15 s for builds told to stop, then closing connections, housekeeping, the DB. */
export const STOP_MARGIN_S = 60;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function pidFileHolds(file: string, pid: number): boolean {
  try {
    return readFileSync(file, 'utf8').trim() === String(pid);
  } catch {
    return false;
  }
}

async function waitGone(pid: number, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

/**
 * `stop`: SIGTERM to the master in the pid file (SIGUSR1 with --clean: running builds finish however
 * long they take, and we wait as long), then wait for the process to go away and say how it ended,
 * from what it wrote in DIR/buildmaster.status.json. --timeout N: after N seconds send SIGTERM again
 * (stop at once; claims are still released). Exit status (exitStatus.ts): 0 clean (or not running, as Buildbot),
 * 4 builds outlasted the bound and ended RETRY, 5 stopped at once, 6 it died without a clean
 * shutdown, 1 still running after the wait.
 */
export async function stopMaster(dir: string, opts: StopOptions, out: Output): Promise<void> {
  const paths = masterPaths(dir);
  const timeoutS = opts.timeout === undefined ? undefined : Number(opts.timeout);
  if (timeoutS !== undefined && (!Number.isFinite(timeoutS) || timeoutS < 0)) throw new UsageError(`--timeout must be a number of seconds, got ${opts.timeout}`);
  const pid = runningPid(paths.pidFile);
  if (pid === undefined) {
    if (existsSync(paths.pidFile)) unlinkSync(paths.pidFile); // stale
    // Buildbot's stop and LSB both count stopping a stopped master as success.
    out.info('buildmaster not running', opts.quiet);
    return;
  }
  const signal: NodeJS.Signals = opts.clean ? 'SIGUSR1' : 'SIGTERM';
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    // Buildbot's stop and LSB both count stopping a stopped master as success.
    out.info('buildmaster not running', opts.quiet);
    return;
  }
  if (opts.wait === false) {
    out.info(`sent ${signal} to process ${pid}`, opts.quiet);
    return;
  }
  out.info(`sent ${signal} to process ${pid}; waiting for it to stop${opts.clean ? ' (running builds finish first)' : ''}`, opts.quiet);
  const reported = readStatus(paths.statusFile);
  const boundS = reported?.pid === pid ? reported.buildBoundS : SHUTDOWN_BUILD_BOUND_S;
  let gone: boolean;
  if (timeoutS !== undefined) {
    gone = await waitGone(pid, Date.now() + timeoutS * 1000);
    if (!gone) {
      out.info(`process ${pid} still running after ${timeoutS} s: stopping it at once (running builds end RETRY)`, opts.quiet);
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone meanwhile
      }
      gone = await waitGone(pid, Date.now() + STOP_MARGIN_S * 1000);
    }
  } else {
    gone = await waitGone(pid, opts.clean ? Infinity : Date.now() + (boundS + STOP_MARGIN_S) * 1000);
  }
  if (!gone) {
    throw new BuildmasterError(`buildmaster process ${pid} did not stop in time; see ${paths.logFile} (stop it again to stop it at once)`, { userError: true });
  }

  const status = readStatus(paths.statusFile);
  if (pidFileHolds(paths.pidFile, pid) || (status?.pid === pid && status.state !== 'stopped')) {
    if (pidFileHolds(paths.pidFile, pid)) unlinkSync(paths.pidFile);
    out.info(`buildmaster process ${pid} is gone, but it did not shut down cleanly; its next start ends its builds RETRY; see ${paths.logFile}`, opts.quiet);
    throw new ExitStatus(EXIT_STOPPED_UNCLEAN);
  }
  const result = status?.pid === pid ? status.stop : undefined;
  if (!result || result.outcome === 'clean') {
    out.info(`buildmaster process ${pid} stopped cleanly`, opts.quiet);
    return;
  }
  const n = result.retried.length;
  out.info(
    result.outcome === 'bound'
      ? `buildmaster process ${pid} stopped; ${n} build(s) outlasted the shutdown bound (${boundS} s) and ended RETRY: they will run again`
      : `buildmaster process ${pid} stopped at once; ${n} build(s) ended RETRY: they will run again`,
    opts.quiet,
  );
  throw new ExitStatus(stopExitCode(result.outcome));
}

export function registerStop(program: Command, out: Output): void {
  program
    .command('stop')
    .description('stop the master: running builds get shutdown.buildBound (default 30 s) to finish, the rest end RETRY and run again later')
    .argument('[dir]', 'the master directory', '.')
    .option('--no-wait', 'send the signal and return at once')
    .option('-c, --clean', 'let running builds finish, however long they take (SIGUSR1), and wait for that')
    .option('--timeout <seconds>', 'after this long, stop at once (a second SIGTERM): running builds end RETRY')
    .option('-q, --quiet', 'print nothing on success')
    .addHelpText('after', '\nExit status: 0 stopped cleanly or not running, 4 builds outlasted the bound and ended RETRY,\n5 stopped at once (builds ended RETRY), 6 the process died without a clean shutdown, 1 did not stop in time.')
    .action(async (dir: string, opts: StopOptions) => stopMaster(dir, opts, out));
}
