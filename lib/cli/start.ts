import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { BuildmasterError, UsageError } from '../errors/index.js';
import { Master, type MasterStopOptions, type StopResult } from '../master/master.js';
import { masterPaths, type MasterPaths } from '../master/paths.js';
import { runningPid } from '../master/pidFile.js';
import { writeStatus, type MasterStatus } from '../master/statusFile.js';
import { createLogger } from '../util/log.js';
import { ExitStatus, stopExitCode } from './exitStatus.js';
import type { Output } from './output.js';

export interface StartOptions {
  nodaemon?: boolean;
  quiet?: boolean;
  /** Seconds the daemon's parent waits for the master to report it is running (default 30). */
  start_timeout?: string;
}

const DEFAULT_START_TIMEOUT_S = 30;
const TAIL_LINES = 20;

function checkMasterDir(paths: MasterPaths): void {
  if (!existsSync(paths.config)) {
    throw new UsageError(`${paths.basedir} is not a master directory: ${paths.config} does not exist (run create-master first)`);
  }
  const pid = runningPid(paths.pidFile);
  if (pid !== undefined && pid !== process.pid) throw new UsageError(`the master in ${paths.basedir} is already running (pid ${pid})`);
}

/** Written only once the master is up, so "the pid file holds the child's pid" means "started". */
function writePidFile(file: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`);
  renameSync(tmp, file);
}

function removeOwnPidFile(file: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * `start --nodaemon`: run the master in this process until SIGTERM/SIGINT (graceful stop: builds get
 * the config's shutdown.buildBound, then end RETRY), SIGUSR1 (Buildbot's clean stop: builds finish
 * however long they take) or a second signal (stop now: running builds end RETRY). SIGHUP reconfigs.
 * The pid file exists exactly while the master is up; DIR/buildmaster.status.json reports reconfigs
 * and how the stop ended. Exit status: 0 clean, 4 builds outlasted the bound, 5 stopped at once
 * (exitStatus.ts).
 */
export async function runForeground(dir: string): Promise<void> {
  const paths = masterPaths(dir);
  checkMasterDir(paths);
  const logger = createLogger();
  let master: Master | undefined;
  let signals = 0;
  let requested: MasterStopOptions | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  let status: MasterStatus | undefined;
  const report = (change: Partial<MasterStatus>) => {
    if (!status) return;
    status = { ...status, ...change };
    try {
      writeStatus(paths.statusFile, status);
    } catch (err) {
      logger.error({ event: 'master.statusWriteFailed', err: (err as Error).message }, `could not write ${paths.statusFile}`);
    }
  };

  const requestStop = (signal: NodeJS.Signals) => {
    signals++;
    // No timeout given: the master uses the config's shutdown.buildBound.
    const opts: MasterStopOptions = signals > 1 ? { graceful: false } : signal === 'SIGUSR1' ? { timeoutMs: Infinity } : {};
    logger.info({ event: 'master.signal', signal, count: signals }, signals > 1 ? `${signal} again: stopping now` : `${signal} received: stopping`);
    requested ??= opts;
    report({ state: 'stopping' });
    if (master) void master.stop(opts).then(stopped, stopped);
    // Still starting (a database that does not answer, say): a second signal gives up at once.
    else if (signals > 1) process.exit(1);
  };
  let reconfigs = 0;
  const onHup = () => {
    logger.info({ event: 'master.signal', signal: 'SIGHUP' }, 'SIGHUP received: reconfig');
    if (!master) return; // still starting: it is loading the config file anyway
    const seq = ++reconfigs;
    void master.reconfig().then(
      (r) => report({ reconfig: r.ok ? { seq, ok: true, changes: r.changes, restartNeeded: r.restartNeeded } : { seq, ok: false, errors: r.errors } }),
      (err: unknown) => report({ reconfig: { seq, ok: false, errors: [(err as Error)?.message ?? String(err)] } }),
    );
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => requestStop('SIGTERM')],
    ['SIGINT', () => requestStop('SIGINT')],
    ['SIGUSR1', () => requestStop('SIGUSR1')],
    ['SIGHUP', onHup],
  ];
  for (const [sig, fn] of handlers) process.on(sig, fn);
  try {
    master = await Master.start({ basedir: paths.basedir, logger, www: true, useConfigLogLevel: true });
    status = { pid: process.pid, state: requested ? 'stopping' : 'running', buildBoundS: master.config.shutdown.buildBound };
    report({});
    writePidFile(paths.pidFile);
    // A signal that came during startup is honoured now.
    if (requested) void master.stop(requested).then(stopped, stopped);
    await done;
    const result: StopResult = await master.stop(); // the same promise: resolves when it finished, rejects if it failed
    report({ state: 'stopped', stop: result });
    if (result.outcome !== 'clean') throw new ExitStatus(stopExitCode(result.outcome));
  } catch (err) {
    if (err instanceof ExitStatus) throw err;
    // A failed start is reported by the CLI itself (stderr); a failed stop only here.
    if (master) logger.error({ event: 'master.stopFailed', err: (err as Error)?.stack ?? String(err) }, `stopping the master failed: ${(err as Error)?.message ?? String(err)}`);
    throw err;
  } finally {
    removeOwnPidFile(paths.pidFile);
    for (const [sig, fn] of handlers) process.off(sig, fn);
    logger.flush();
    // Everything is closed; should a straggler (a build that ignored its stop) keep the process
    // alive, do not hang around for it. Unref'd: it fires only in that case.
    setTimeout(() => process.exit(), 10_000).unref();
  }
}

/** Pino lines of master.log made readable for a terminal; other lines (stderr) as they are. */
export function readableLogLine(line: string): string {
  try {
    const o = JSON.parse(line) as { level?: number; time?: number; msg?: string; err?: unknown };
    if (typeof o.msg !== 'string') return line;
    const level = ({ 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' } as Record<number, string>)[o.level ?? 30] ?? 'INFO';
    const time = typeof o.time === 'number' ? new Date(o.time).toISOString() : '';
    return `${time} ${level} ${o.msg}${o.err && level !== 'INFO' ? `\n  ${String(o.err).split('\n').join('\n  ')}` : ''}`;
  } catch {
    return line;
  }
}

function tail(file: string, from: number, lines = TAIL_LINES): string {
  try {
    const text = readFileSync(file).subarray(from).toString('utf8');
    return text.split('\n').filter((l) => l.trim()).slice(-lines).map(readableLogLine).join('\n');
  } catch {
    return '';
  }
}

/**
 * `start`: run `start --nodaemon` in the background (its output appended to DIR/master.log) and wait
 * until it has written the pid file with its own pid — it does that once it is running — or until it
 * dies (then show the end of master.log and fail).
 */
export async function startDaemon(dir: string, opts: StartOptions, out: Output): Promise<void> {
  const paths = masterPaths(dir);
  checkMasterDir(paths);
  const timeoutS = opts.start_timeout === undefined ? DEFAULT_START_TIMEOUT_S : Number(opts.start_timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--start_timeout must be a positive number of seconds, got ${opts.start_timeout}`);
  if (existsSync(paths.pidFile)) unlinkSync(paths.pidFile); // stale: checkMasterDir found no live process

  const logStart = existsSync(paths.logFile) ? readFileSync(paths.logFile).length : 0;
  const log = openSync(paths.logFile, 'a');
  // The same launcher and node flags as this process (bin/buildmaster.js, or tsx from source).
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'start', '--nodaemon', paths.basedir], {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  closeSync(log);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  child.on('error', (err) => {
    exited = { code: null, signal: null };
    out.stderr(`buildmaster: could not run the master: ${err.message}\n`);
  });
  child.unref();

  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    if (runningPid(paths.pidFile) === child.pid) {
      out.info(`buildmaster is running (pid ${child.pid}); log: ${paths.logFile}`, opts.quiet);
      return;
    }
    if (exited) {
      const how = exited.signal ? `was killed by ${exited.signal}` : `exited with code ${exited.code}`;
      const end = tail(paths.logFile, logStart);
      out.stderr(`buildmaster: the master ${how} while starting; the end of ${paths.logFile}:\n${end ? `${end}\n` : '(empty)\n'}`);
      throw new BuildmasterError(`the master in ${paths.basedir} did not start`, { userError: true });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const end = tail(paths.logFile, logStart);
  out.stderr(`buildmaster: the master (pid ${child.pid}) did not report that it is running within ${timeoutS} s; it may still be starting. The end of ${paths.logFile}:\n${end ? `${end}\n` : '(empty)\n'}`);
  throw new BuildmasterError(`could not confirm that the master in ${paths.basedir} started`, { userError: true });
}

export function registerStart(program: Command, out: Output): void {
  program
    .command('start')
    .description('start the master in the background (log in DIR/master.log, pid in DIR/buildmaster.pid)')
    .argument('[dir]', 'the master directory', '.')
    .option('--nodaemon', 'run in the foreground, logging to stdout')
    .option('--start_timeout <seconds>', `how long to wait for the master to report that it is running (default ${DEFAULT_START_TIMEOUT_S})`)
    .option('-q, --quiet', 'print nothing on success')
    .action(async (dir: string, opts: StartOptions) => (opts.nodaemon ? runForeground(dir) : startDaemon(dir, opts, out)));
}
