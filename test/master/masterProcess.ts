/**
 * Real `buildmaster start --nodaemon DIR` processes for the operations tests (shutdown, reconfig,
 * crash recovery): spawned from source with tsx, output kept, exit awaited; and the CLI as a process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '../../lib/db/connection.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { getLogChunks, getLogs } from '../../lib/db/logs.js';
import { select } from '../../lib/db/query.js';
import { readLines } from '../../lib/logs/chunkCodec.js';
import { repoRoot } from '../support/cli.js';
import { until } from './masterDir.js';

export const CLI_ENTRY = fileURLToPath(new URL('./cliEntry.ts', import.meta.url));

export interface MasterProcess {
  child: ChildProcess;
  pid: number;
  output: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts a master in the foreground and waits until it has written its pid file (it is running). */
export async function startMasterProcess(dir: string, env: NodeJS.ProcessEnv = {}): Promise<MasterProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'start', '--nodaemon', dir], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BUILDMASTER_LOG_LEVEL: 'info', ...env },
  });
  const proc: MasterProcess = {
    child,
    pid: child.pid!,
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.on('data', (d) => (proc.output += d));
  child.stderr!.on('data', (d) => (proc.output += d));
  let gone = false;
  void proc.exited.then(() => (gone = true));
  await until(async () => {
    if (gone) throw new Error(`the master exited while starting:\n${proc.output.slice(-4000)}`);
    return (await readFile(join(dir, 'buildmaster.pid'), 'utf8').catch(() => '')).trim() === String(proc.pid);
  }, 'the master to write its pid file', 90_000);
  return proc;
}

/** Kills what is still running (SIGKILL, by PID) and waits for it. */
export async function killMasterProcess(p: MasterProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
}

/** Runs the CLI as a process (as a user or systemd would). */
export function runCliProcess(args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * Requests for the named builders (all of this master's when none are named), added straight to the
 * database as another master or a scheduler would: the master finds them at its next poll. (The
 * HTTP force path has its own tests; these tests are about what the master does with requests.)
 */
export async function submitRequests(db: Database, builderNames?: string[]): Promise<{ bsid: number; brids: number[] }> {
  const builders = await select<{ id: number; name: string }>(
    db,
    'SELECT b.id, b.name FROM builders b JOIN builder_masters bm ON bm.builderid = b.id ORDER BY b.name',
  );
  const chosen = builders.filter((b) => !builderNames || builderNames.includes(b.name));
  if (chosen.length === 0) throw new Error(`no registered builder among ${JSON.stringify(builderNames)}`);
  const { bsid, brids } = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'test', properties: {}, builderids: chosen.map((b) => b.id) });
  return { bsid, brids: chosen.map((b) => brids[b.id]!) };
}

/** The text of a step's first log (stdio). */
export async function stepLogText(db: Database, stepid: number): Promise<string> {
  const [log] = await getLogs(db, stepid);
  if (!log) return '';
  return readLines(await getLogChunks(db, log.id, 0, 1e9), 0, 1e9).lines.join('\n');
}
