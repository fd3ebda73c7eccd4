import type { Command } from 'commander';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { BuildmasterError } from '../errors/index.js';
import { masterPaths } from '../master/paths.js';
import { runningPid } from '../master/pidFile.js';
import type { Output } from './output.js';

export interface StopOptions {
  /** commander's --no-wait sets this false. */
  wait?: boolean;
  clean?: boolean;
  quiet?: boolean;
}

/** Longer than the master's own bounds (30 s for builds to finish, 15 s to stop the rest, then cleanup). */
export const STOP_WAIT_S = 60;

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

/**
 * `stop`: SIGTERM to the master in the pid file (SIGUSR1 with --clean: running builds finish however
 * long they take, and we wait as long), then wait for the process to go away and say how it ended.
 * Exit 0 once it is gone (or was not running), 1 if it is still there after the wait.
 */
export async function stopMaster(dir: string, opts: StopOptions, out: Output): Promise<void> {
  const paths = masterPaths(dir);
  const pid = runningPid(paths.pidFile);
  if (pid === undefined) {
    if (existsSync(paths.pidFile)) unlinkSync(paths.pidFile); // stale
    out.info('buildmaster not running', opts.quiet);
    return;
  }
  const signal: NodeJS.Signals = opts.clean ? 'SIGUSR1' : 'SIGTERM';
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    out.info('buildmaster not running', opts.quiet);
    return;
  }
  if (opts.wait === false) {
    out.info(`sent ${signal} to process ${pid}`, opts.quiet);
    return;
  }
  out.info(`sent ${signal} to process ${pid}; waiting for it to stop${opts.clean ? ' (running builds finish first)' : ''}`, opts.quiet);
  const deadline = opts.clean ? Infinity : Date.now() + STOP_WAIT_S * 1000;
  while (Date.now() < deadline) {
    if (!alive(pid)) {
      if (pidFileHolds(paths.pidFile, pid)) {
        unlinkSync(paths.pidFile);
        out.info(`buildmaster process ${pid} is gone, but it did not shut down cleanly (it left its pid file); see ${paths.logFile}`, opts.quiet);
      } else {
        out.info(`buildmaster process ${pid} stopped cleanly`, opts.quiet);
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new BuildmasterError(`buildmaster process ${pid} did not stop within ${STOP_WAIT_S} s; see ${paths.logFile} (stop it again to stop it at once)`, { userError: true });
}

export function registerStop(program: Command, out: Output): void {
  program
    .command('stop')
    .description('stop the master: running builds get 30 s to finish, the rest end RETRY and run again later')
    .argument('[dir]', 'the master directory', '.')
    .option('--no-wait', 'send the signal and return at once')
    .option('-c, --clean', 'let running builds finish, however long they take (SIGUSR1), and wait for that')
    .option('-q, --quiet', 'print nothing on success')
    .action(async (dir: string, opts: StopOptions) => stopMaster(dir, opts, out));
}
