/** Master directories for the Master tests: made by create-master, then given a test config. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMaster } from '../../lib/cli/createMaster.js';
import { Output } from '../../lib/cli/output.js';
import { addKnownHost } from '../../lib/workers/knownHosts.js';

export interface TestWorker {
  name: string;
  host?: string;
  port: number;
  user: string;
  privateKeyFile: string;
  basedir: string;
  maxBuilds?: number;
}

export interface TestBuilder {
  name: string;
  workernames: string[];
  /** A shell command line (one ShellCommand step). */
  command: string;
  /** More builder options, as TypeScript source (e.g. `nextWorker: (b, ws) => ws[0],`). */
  extra?: string;
}

export interface ConfigSpec {
  workers: TestWorker[];
  builders: TestBuilder[];
  wwwPort?: number;
  /** Extra top-level config entries, as TypeScript source (e.g. `collapseRequests: true,`). */
  extra?: string;
}

export function configSource(spec: ConfigSpec): string {
  const names = JSON.stringify(spec.builders.map((b) => b.name));
  return `import { defineConfig, steps, schedulers } from 'buildmaster';

export default defineConfig({
  db: { url: 'sqlite:///state.sqlite' },
  www: { host: '127.0.0.1', port: ${spec.wwwPort ?? 8010} },
  collapseRequests: false,
  multiMaster: { heartbeatInterval: 1 },
  ${spec.extra ?? ''}
  workers: ${JSON.stringify(
    spec.workers.map((w) => ({ host: '127.0.0.1', maxBuilds: 1, ...w })),
    null,
    2,
  )},
  builders: [
${spec.builders
  .map((b) => `    { name: ${JSON.stringify(b.name)}, workernames: ${JSON.stringify(b.workernames)}, steps: [new steps.ShellCommand({ name: 'run', command: ${JSON.stringify(b.command)} })], ${b.extra ?? ''} },`)
  .join('\n')}
  ],
  schedulers: [new schedulers.ForceScheduler({ name: 'force', builderNames: ${names} })],
});
`;
}

/** A fresh master directory (create-master: sample config, package.json, migrated sqlite DB). */
export async function makeMasterDir(spec: ConfigSpec): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bm-master-'));
  const quiet = new Output(() => {}, () => {});
  await createMaster(dir, { quiet: true }, quiet);
  await writeFile(join(dir, 'master.config.ts'), configSource(spec));
  return dir;
}

export async function rewriteConfig(dir: string, spec: ConfigSpec): Promise<void> {
  await writeFile(join(dir, 'master.config.ts'), configSource(spec));
}

/** Trust a host key (an OpenSSH public key line) for host:port in the master's known_hosts. */
export async function trust(dir: string, host: string, port: number, publicKeyLine: string): Promise<void> {
  await addKnownHost(join(dir, 'known_hosts'), host, port, Buffer.from(publicKeyLine.split(' ')[1], 'base64'));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir && process.env.KEEP_TMP !== '1') await rm(dir, { recursive: true, force: true });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll until `fn` gives a truthy value (for state only the DB or the slave can tell). */
export async function until<T>(fn: () => Promise<T> | T, what: string, ms = 30_000, every = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
