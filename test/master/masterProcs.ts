/**
 * Several real master processes (`buildmaster start --nodaemon`, from source) sharing one
 * database, each in its own master directory, with the workers of a test sshd: for the
 * many-masters and failover tests. Processes are stopped by PID in `stopAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '../../lib/db/connection.js';
import { getMasters } from '../../lib/db/masters.js';
import { masterName } from '../../lib/master/identity.js';
import { repoRoot } from '../support/cli.js';
import type { Sshd } from '../support/sshd.js';
import { makeMasterDir, removeDir, trust, until } from './masterDir.js';

const CLI_ENTRY = fileURLToPath(new URL('./cliEntry.ts', import.meta.url));

export interface ClusterSpec {
  dbUrl: string;
  sshd: Sshd;
  /** Builder names; each lists every worker. */
  builders: string[];
  /** Shell command of each builder's one step. */
  command: string;
  heartbeatInterval: number;
  deadMasterTimeout: number;
  /** More top-level config entries, as TypeScript source. */
  extra?: string;
  /** Statements before the config (e.g. lock declarations). */
  preamble?: string;
  /** Extra options of each builder, as TypeScript source (`util` is imported). */
  builderExtra?: string;
  /** A different step command for master number `index` (default: `command`). */
  commandOf?: (index: number) => string | undefined;
  /** The sshd users (by index) master number `index` lists as its workers (default: all). */
  workersOf?: (index: number) => number[];
}

export interface MasterProc {
  dir: string;
  name: string;
  child: ChildProcess;
  /** The last ~20 kB of its output. */
  output: string;
}

function configSource(spec: ClusterSpec, index: number): string {
  const mine = new Set(spec.workersOf?.(index) ?? spec.sshd.users.map((_, i) => i));
  const workers = spec.sshd.users.flatMap((u, i) => (mine.has(i) ? [{
    name: `w${i}`,
    host: '127.0.0.1',
    port: spec.sshd.port,
    user: u.name,
    privateKeyFile: u.privateKeyPath,
    basedir: join(u.home, `m${index}`),
    maxBuilds: 1,
  }] : []));
  const names = JSON.stringify(spec.builders);
  return `import { defineConfig, steps, schedulers, util } from 'buildmaster';
${spec.preamble ?? ''}
export default defineConfig({
  db: { url: ${JSON.stringify(spec.dbUrl)} },
  www: { host: '127.0.0.1', port: 0 },
  collapseRequests: false,
  multiMaster: { heartbeatInterval: ${spec.heartbeatInterval}, deadMasterTimeout: ${spec.deadMasterTimeout} },
  ${spec.extra ?? ''}
  workers: ${JSON.stringify(workers)},
  builders: ${JSON.stringify(spec.builders)}.map((name) => ({
    name,
    workernames: ${JSON.stringify(workers.map((w) => w.name))},
    steps: [new steps.ShellCommand({ name: 'run', command: ${JSON.stringify(spec.commandOf?.(index) ?? spec.command)} })],
    ${spec.builderExtra ?? ''}
  })),
  schedulers: [new schedulers.ForceScheduler({ name: 'force', builderNames: ${names} })],
});
`;
}

export class MasterCluster {
  readonly procs: MasterProc[] = [];
  private added = 0;

  constructor(private readonly spec: ClusterSpec) {}

  /** Creates and starts one more master (its own directory, the shared DB). */
  async add(): Promise<MasterProc> {
    const index = this.added++; // before any await: add() may run concurrently
    const dir = await makeMasterDir({ workers: [], builders: [] });
    await writeFile(join(dir, 'master.config.ts'), configSource(this.spec, index));
    await trust(dir, '127.0.0.1', this.spec.sshd.port, this.spec.sshd.hostPublicKeyLine);
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'start', '--nodaemon', dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BUILDMASTER_LOG_LEVEL: process.env.BUILDMASTER_LOG_LEVEL ?? 'warn' },
    });
    const proc: MasterProc = { dir, name: masterName(dir), child, output: '' };
    const keep = (d: Buffer) => {
      proc.output = (proc.output + d.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.procs.push(proc);
    return proc;
  }

  /** The masterid of a started master, once its row is active. */
  async masterId(db: Database, proc: MasterProc, ms = 90_000): Promise<number> {
    return until(async () => {
      if (proc.child.exitCode !== null) throw new Error(`master ${proc.dir} exited with ${proc.child.exitCode}:\n${proc.output}`);
      return (await getMasters(db)).find((m) => m.name === proc.name && m.active === 1)?.id;
    }, `master ${proc.dir} to be up`, ms, 200);
  }

  /** Prints each master's output tail (for a failed test). */
  dump(): void {
    for (const p of this.procs) process.stderr.write(`--- master pid ${p.child.pid} (${p.dir}) ---\n${p.output.slice(-6000)}\n`);
  }

  /** SIGTERM each running master (SIGKILL after `ms`), then remove the directories. */
  async stopAll(ms = 20_000): Promise<void> {
    await Promise.all(this.procs.map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), ms);
        await exited;
        clearTimeout(t);
      }
    }));
    for (const p of this.procs.splice(0)) await removeDir(p.dir);
  }
}
