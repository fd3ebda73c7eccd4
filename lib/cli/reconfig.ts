import type { Command } from 'commander';
import { BuildmasterError, UsageError } from '../errors/index.js';
import { masterPaths } from '../master/paths.js';
import { runningPid } from '../master/pidFile.js';
import { readStatus } from '../master/statusFile.js';
import { EXIT_NOT_RUNNING, EXIT_RECONFIG_REJECTED, ExitStatus } from './exitStatus.js';
import type { Output } from './output.js';

export interface ReconfigOptions {
  quiet?: boolean;
  /** Seconds to wait for the master's answer (default 60). */
  timeout?: string;
}

const DEFAULT_TIMEOUT_S = 60;

/**
 * `reconfig`: SIGHUP to the master in the pid file, then wait for its answer in
 * DIR/buildmaster.status.json (a reconfig numbered after the last one there). Applied: print what
 * changed (and what waits for a restart), exit 0. Rejected: print the config's problems, exit 7;
 * the old config stays in force. Not running: exit 3.
 */
export async function reconfigMaster(dir: string, opts: ReconfigOptions, out: Output): Promise<void> {
  const paths = masterPaths(dir);
  const timeoutS = opts.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(opts.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got ${opts.timeout}`);
  const pid = runningPid(paths.pidFile);
  if (pid === undefined) {
    out.stderr(`buildmaster: the master in ${paths.basedir} is not running\n`);
    throw new ExitStatus(EXIT_NOT_RUNNING);
  }
  const before = readStatus(paths.statusFile);
  const lastSeq = before?.pid === pid ? (before.reconfig?.seq ?? 0) : 0;
  process.kill(pid, 'SIGHUP');
  out.info(`sent SIGHUP to process ${pid}; waiting for the master to load its config`, opts.quiet);

  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    const s = readStatus(paths.statusFile);
    const r = s?.pid === pid ? s.reconfig : undefined;
    if (r && r.seq > lastSeq) {
      if (!r.ok) {
        out.stderr(`buildmaster: reconfig rejected; the old config stays in force:\n${(r.errors ?? []).map((e) => `  ${e}`).join('\n')}\n`);
        throw new ExitStatus(EXIT_RECONFIG_REJECTED);
      }
      const changes = r.changes?.length ? r.changes.map((c) => `  ${c}`).join('\n') : '  (no changes)';
      out.info(`reconfig applied:\n${changes}`, opts.quiet);
      if (r.restartNeeded?.length) out.stderr(`buildmaster: these settings changed but take effect only when the master restarts: ${r.restartNeeded.join(', ')}\n`);
      return;
    }
    if (runningPid(paths.pidFile) !== pid) throw new BuildmasterError(`the master (pid ${pid}) stopped before it answered; see ${paths.logFile}`, { userError: true });
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new BuildmasterError(`the master (pid ${pid}) did not answer within ${timeoutS} s; see ${paths.logFile}`, { userError: true });
}

export function registerReconfig(program: Command, out: Output): void {
  program
    .command('reconfig')
    .description('apply the edited master.config.ts to the running master (SIGHUP) without stopping its builds')
    .argument('[dir]', 'the master directory', '.')
    .option('--timeout <seconds>', `how long to wait for the master's answer (default ${DEFAULT_TIMEOUT_S})`)
    .option('-q, --quiet', 'print nothing on success')
    .addHelpText('after', '\nExit status: 0 applied, 7 rejected (the old config stays in force), 3 not running, 1 no answer.')
    .action(async (dir: string, opts: ReconfigOptions) => reconfigMaster(dir, opts, out));
}
