/**
 * Set-up for the build tests: a real DB (DbHarness), a real sshd user as the slave, a validated
 * config, and helpers to queue a request, run a build of it and read back what it stored.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ResolvedConfig } from '../../lib/config/resolved.js';
import type { Step } from '../../lib/config/steps.js';
import { validateConfig } from '../../lib/config/validate.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { claimRequests, getRequest } from '../../lib/db/buildrequests.js';
import { getBuild, getBuildProperties } from '../../lib/db/builds.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import type { Database } from '../../lib/db/connection.js';
import { getLogChunks, getLogs } from '../../lib/db/logs.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import type { SourcestampSpec } from '../../lib/db/sourcestamps.js';
import { getSteps, type StepRow } from '../../lib/db/steps.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';
import { readLines } from '../../lib/logs/chunkCodec.js';
import { MessageBus, type RoutingKey } from '../../lib/master/bus.js';
import { Build, type BuildDeps } from '../../lib/process/build.js';
import { createLogger, silentLogger } from '../../lib/util/log.js';
import type { SshConnection } from '../../lib/workers/sshConnection.js';
import { startSshd, type Sshd, type SshdUser } from '../support/sshd.js';
import type { DbHarness } from '../support/databases.js';
import { makeHarness, type Harness } from '../workers/harness.js';

const run = promisify(execFile);

/**
 * The real sshd (one user) of a describe block, and a fresh trusting SSH harness per test: the hooks
 * every step suite needs. The fields are filled by the hooks, so read them inside tests and hooks.
 */
export function useSshdPerSuite(): { sshd: Sshd; ssh: Harness } {
  const env = {} as { sshd: Sshd; ssh: Harness };
  before(async function () {
    env.sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await env.sshd?.stop();
  });
  beforeEach(async () => {
    env.ssh = await makeHarness();
    await env.ssh.trust(env.sshd);
  });
  afterEach(async () => {
    await env.ssh?.cleanup();
  });
  return env;
}

export interface BuildWorld {
  db: Database;
  bus: MessageBus;
  events: { key: RoutingKey; message: Record<string, unknown> }[];
  masterid: number;
  builderid: number;
  workerid: number;
  user: SshdUser;
  conn: SshConnection;
  /** The slave's worker basedir (in the test user's home). */
  workerBasedir: string;
  masterBasedir: string;
  config(steps: Step[], extra?: { properties?: Record<string, unknown>; builder?: Record<string, unknown>; worker?: Record<string, unknown>; secrets?: Record<string, string>; schedulers?: unknown[] }): ResolvedConfig;
  /** Queue a buildset for the builder and claim its request; returns the request row. */
  request(opts?: { properties?: Record<string, [unknown, string]>; sourcestamp?: SourcestampSpec }): Promise<NonNullable<Awaited<ReturnType<typeof getRequest>>>>;
  /** Start a build of a new request with these steps. */
  start(config: ResolvedConfig, opts?: Parameters<BuildWorld['request']>[0]): Promise<Build>;
  /** Start and wait. */
  build(config: ResolvedConfig, opts?: Parameters<BuildWorld['request']>[0]): Promise<{ build: Build; results: number }>;
}

export async function makeWorld(h: DbHarness, sshd: Sshd, ssh: Harness, userIndex = 0): Promise<BuildWorld> {
  const db = await h.open();
  const bus = new MessageBus();
  const events: BuildWorld['events'] = [];
  bus.subscribe(['*', '*', '*'], (key, message) => events.push({ key, message: message as Record<string, unknown> }));
  const user = sshd.users[userIndex];
  const workerBasedir = join(user.home, `workers-${Math.random().toString(36).slice(2, 8)}`);
  await mkdir(workerBasedir, { recursive: true });
  await chown(workerBasedir, user.uid, -1);
  const masterid = await findOrCreateMaster(db, 'test-master:/m');
  const builderid = await findOrCreateBuilder(db, 'b1');
  const workerid = await findOrCreateWorker(db, 'w1');
  const conn = ssh.connection(sshd, user, { name: 'w1' });
  await conn.connect();
  const masterBasedir = h.basedir();

  const world: BuildWorld = {
    db,
    bus,
    events,
    masterid,
    builderid,
    workerid,
    user,
    conn,
    workerBasedir,
    masterBasedir,
    config(steps, extra = {}) {
      const raw = {
        properties: extra.properties ?? {},
        workers: [{ name: 'w1', host: sshd.host, port: sshd.port, user: user.name, privateKeyFile: user.privateKeyPath, basedir: workerBasedir, ...(extra.worker ?? {}) }],
        builders: [{ name: 'b1', workernames: ['w1'], steps, ...(extra.builder ?? {}) }],
        secrets: { values: extra.secrets ?? {} },
        schedulers: extra.schedulers ?? [],
      };
      const r = validateConfig(raw, masterBasedir);
      if (!r.ok) throw new Error(`config: ${JSON.stringify(r.problems)}`);
      return r.config;
    },
    async request(opts = {}) {
      const { brids } = await addBuildset(db, {
        sourcestamps: [opts.sourcestamp ?? { codebase: '', branch: null, revision: null, repository: '', project: '' }],
        reason: 'test',
        properties: opts.properties ?? {},
        builderids: [builderid],
      });
      const brid = brids[builderid];
      const claim = await claimRequests(db, [brid], masterid, Math.floor(Date.now() / 1000));
      expect(claim.claimed).to.deep.equal([brid]);
      return (await getRequest(db, brid))!;
    },
    async start(config, opts) {
      const req = await world.request(opts);
      const deps: BuildDeps = {
        db,
        bus,
        logger: process.env.BM_TEST_LOG ? createLogger({ level: process.env.BM_TEST_LOG }) : silentLogger(),
        masterid,
        basedir: masterBasedir,
        config,
        secrets: async (name) => config.secrets.values[name],
      };
      return Build.start(deps, {
        builder: { builderid, config: config.builders[0] },
        worker: { workerid, config: config.workers[0], connection: conn },
        requests: [req],
      });
    },
    async build(config, opts) {
      const build = await world.start(config, opts);
      const { results } = await build.finished;
      return { build, results };
    },
  };
  return world;
}

export interface StoredLog {
  name: string;
  type: string;
  lines: string[];
  timestamps: (number | null)[];
  complete: number;
}

/** Every step of a build with its logs, read back from the DB. */
export async function readBuild(db: Database, buildid: number) {
  const build = (await getBuild(db, buildid))!;
  const steps: (StepRow & { logs: StoredLog[]; log: (name: string) => StoredLog | undefined })[] = [];
  for (const s of await getSteps(db, buildid)) {
    const logs: StoredLog[] = [];
    for (const l of await getLogs(db, s.id)) {
      const rows = l.num_lines > 0 ? await getLogChunks(db, l.id, 0, l.num_lines - 1) : [];
      const read = readLines(rows, 0, Math.max(0, l.num_lines - 1));
      logs.push({ name: l.name, type: l.type, lines: l.num_lines > 0 ? read.lines : [], timestamps: l.num_lines > 0 ? read.timestamps : [], complete: l.complete });
    }
    steps.push({ ...s, logs, log: (name: string) => logs.find((x) => x.name === name) });
  }
  const properties = await getBuildProperties(db, buildid);
  /** Everything, for assertion messages. */
  const dump = () => JSON.stringify({ build, steps: steps.map((s) => ({ name: s.name, results: s.results, state: s.state_string, logs: s.logs })) }, null, 1);
  return { build, steps, properties, dump, step: (name: string) => steps.find((s) => s.name === name) };
}

/** Processes of `user` other than its sshd session processes: what a killed command left behind. */
export async function leftovers(user: string): Promise<string[]> {
  try {
    const { stdout } = await run('ps', ['-u', user, '-o', 'pid=,comm=']);
    return stdout.split('\n').map((l) => l.trim()).filter((l) => l && !/\ssshd$/.test(l));
  } catch {
    return []; // ps exits 1 when the user has no process
  }
}

/** PIDs of processes named `name` running as `user`. */
export async function pidsOf(user: string, name: string): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-u', user, '-x', name]);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function waitUntil(fn: () => Promise<boolean> | boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A git repository with one commit, owned by `uid` (git refuses repositories of other users). */
export async function makeRepo(dir: string, uid: number): Promise<{ path: string; commit: (file: string, text: string, msg: string) => Promise<string> }> {
  const { writeFile } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const git = async (...args: string[]) => (await run('git', ['-c', 'safe.directory=*', '-C', dir, ...args], { env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } })).stdout.trim();
  await git('init', '-q', '-b', 'main');
  const commit = async (file: string, text: string, msg: string) => {
    await writeFile(join(dir, file), text);
    await git('add', file);
    await git('commit', '-q', '-m', msg);
    await run('chown', ['-R', String(uid), dir]);
    return git('rev-parse', 'HEAD');
  };
  return { path: dir, commit };
}
