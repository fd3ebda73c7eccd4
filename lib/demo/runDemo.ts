/**
 * `npm run demo`: a master with no setup. It makes ./demo-master (reused on later runs) with a
 * sqlite database, a key pair for the master, an embedded loopback SSH host as the one worker (its
 * host key pinned in known_hosts), a git repository holding a small project, and a master.config.ts
 * with two builders, a GitPoller on that repository and a scheduler building each push; starts the
 * master in this process, then commits to the repository over time (demoStory.ts) and prints what
 * the builds do, until Ctrl-C. With --once it exits after the first push's builds: 0 when they
 * succeeded.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { openDatabase } from '../db/connection.js';
import { upgradeDatabase } from '../db/migrate.js';
import { DEFAULT_DB_URL } from '../db/url.js';
import { UsageError } from '../errors/index.js';
import { Master } from '../master/master.js';
import { masterPaths } from '../master/paths.js';
import { resultName, SUCCESS } from '../process/results.js';
import { createLogger, type Logger } from '../util/log.js';
import { addKnownHost } from '../workers/knownHosts.js';
import { DEMO_BUILDERS, DEMO_POLL_INTERVAL, DEMO_PUSH_SCHEDULER, DEMO_SCHEDULER, demoConfigText } from './demoConfig.js';
import { DEMO_BRANCH, ensureDemoRepo } from './demoProject.js';
import { DemoPusher } from './demoPusher.js';
import { DemoReporter } from './demoReporter.js';
import { EmbeddedSshHost, ensureKeyPair } from './embeddedSshHost.js';

export const DEMO_DIR = 'demo-master';
const STATE_FILE = 'demo.json';
const PREFERRED_WWW_PORT = 8010;
const PUSH_INTERVAL_MS = 10_000;
/** After one round of the story: a demo left running for days stays small. */
const LATER_PUSH_INTERVAL_MS = 60_000;

export interface DemoOptions {
  /** Where demo-master goes (default: the current directory). */
  cwd?: string;
  /** The master directory, relative to cwd (default 'demo-master'). */
  dir?: string;
  /** Build the first push, then stop: exit code 0 when its builds succeeded, 1 otherwise. */
  once?: boolean;
  /** How long --once waits for the first push's builds (default 5 minutes). */
  timeoutMs?: number;
  /** The web server's port: 0 any free one; default the previous run's, else 8010, else any free one. */
  port?: number;
  /** Time between pushes after the first (default 10 s for a round of the story, then 60 s); 0: push once. */
  pushIntervalMs?: number;
  print?: (line: string) => void;
  /** Resolves when the user asks to stop (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<void>;
}

/** Ports from the previous run, so known_hosts and the web UI URL stay the same. */
interface DemoState {
  sshPort?: number;
  wwwPort?: number;
}

export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const paths = masterPaths(resolve(cwd, opts.dir ?? DEMO_DIR));
  const show = (p: string) => relative(cwd, p) || '.';
  const stopSignal = opts.stopSignal ?? signalled();

  await mkdir(paths.basedir, { recursive: true });
  const state = await readState(paths.basedir);
  // Before the logger: exiting while pino's log file is still opening crashes the process (sonic-boom).
  const wwwPort = await wwwPortFor(opts.port, state.wwwPort);
  const logger = createLogger({ destination: paths.logFile });
  let host: EmbeddedSshHost | undefined;
  let master: Master | undefined;
  let reporter: DemoReporter | undefined;
  let pusher: DemoPusher | undefined;

  try {
    print(`buildmaster demo in ${show(paths.basedir)}/ (master log: ${show(paths.logFile)})`);
    if (!existsSync(paths.packageJson)) await writeFile(paths.packageJson, '{ "private": true, "type": "module" }\n');

    // The worker: an SSH server in this process that lets in the master's key only.
    const masterKey = await ensureKeyPair(join(paths.basedir, 'master_ed25519'), 'buildmaster-demo-master');
    const slaveDir = join(paths.basedir, 'slave');
    await mkdir(slaveDir, { recursive: true });
    host = await startHost({
      dir: join(paths.basedir, 'ssh-host'),
      authorizedKey: masterKey.publicKeyLine,
      home: slaveDir,
      logger,
      preferredPort: state.sshPort,
    });
    await addKnownHost(paths.knownHosts, host.host, host.port, Buffer.from(host.hostPublicKeyLine.split(' ')[1], 'base64'));
    print(`embedded SSH host on 127.0.0.1:${host.port}, host key ${host.hostKeyFingerprint} (pinned in ${show(paths.knownHosts)})`);

    const repo = await ensureDemoRepo(join(paths.basedir, 'demo-repo'));
    print(`${repo.created ? 'created' : 'reusing'} the demo project's git repository ${show(repo.path)} at ${repo.revision.slice(0, 8)}`);

    await writeFile(
      paths.config,
      demoConfigText({
        repoPath: repo.path,
        sshPort: host.port,
        sshUser: currentUser(),
        privateKeyFile: relative(paths.basedir, masterKey.privateKeyPath),
        workerBasedir: slaveDir,
        wwwPort,
        branch: DEMO_BRANCH,
      }),
    );
    await writeState(paths.basedir, { sshPort: host.port, wwwPort });

    await prepareDatabase(paths.basedir, logger, print);
    master = await Master.start({ basedir: paths.basedir, configFile: paths.config, logger, www: true });
    print(
      `master started (masterid ${master.masterid}): a GitPoller checks ${show(repo.path)} every ${DEMO_POLL_INTERVAL} s; ` +
        `scheduler ${DEMO_PUSH_SCHEDULER} builds each push on ${DEMO_BUILDERS.join(' and ')}`,
    );
    const wwwUrl = master.www ? `http://127.0.0.1:${master.www.port}/` : undefined;
    const ui = wwwUrl ? await probe(wwwUrl) : undefined;
    if (wwwUrl && ui?.ok && ui.html) print(`web UI at ${wwwUrl} (the grid: a row per push, a column per builder)`);

    // The poller's first poll only records the branch head: our first commit must come after it.
    const poller = master.changeSources?.get(repo.path);
    const synced = await poller?.pollNow();
    if (!synced?.ok) throw new Error(`the GitPoller could not read ${repo.path}: ${synced && !synced.ok ? synced.error.message : 'no poller'}`);

    const builderNames = new Map([...master.builderIds()].map(([name, id]) => [id, name]));
    reporter = new DemoReporter(master.bus, (id) => builderNames.get(id) ?? `builder ${id}`, print);
    pusher = new DemoPusher({ repo: repo.path, bus: master.bus, print });
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const first = await Promise.race([
      (async () => {
        const pushed = await pusher.pushNext();
        return pushed.bsid === undefined ? undefined : pusher.completed(pushed.bsid, timeoutMs);
      })(),
      stopSignal.then(() => 'stopped' as const),
    ]);
    if (first === 'stopped') {
      print('stopping (the first push had not been built)');
      return 1;
    }
    if (first === undefined) print(`the first push was not built within ${Math.round(timeoutMs / 1000)} s`);
    const ok = first === SUCCESS;
    print(ok ? 'all builds succeeded' : `the first push's builds finished: ${resultName(first).toUpperCase()}`);

    const api = wwwUrl ? await probe(`${wwwUrl}api/v2`) : undefined;
    print('');
    print('where to look:');
    if (wwwUrl && ui?.ok && ui.html) print(`  web UI       ${wwwUrl}  (grid of pushes; /failures, /trends, /workers)`);
    print(`  database     ${show(join(paths.basedir, 'state.sqlite'))}  (builds, steps, logs: Buildbot's tables)`);
    print(`  master log   ${show(paths.logFile)}`);
    print(`  config       ${show(paths.config)}`);
    print(`  repository   ${show(repo.path)}  (the demo commits here; the GitPoller watches it)`);
    print(`  checkouts    ${show(slaveDir)}/<builder>/build`);
    if (wwwUrl && api?.ok) {
      print(`  REST API     ${wwwUrl}api/v2  (e.g. ${wwwUrl}api/v2/pushes, ${wwwUrl}api/v2/intermittents)`);
      print(
        `  force again  curl -s -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"force","params":{}}' ${wwwUrl}api/v2/forceschedulers/${DEMO_SCHEDULER}`,
      );
    }
    if (opts.once) return ok ? 0 : 1;

    print('');
    const interval = opts.pushIntervalMs ?? PUSH_INTERVAL_MS;
    if (interval > 0) {
      pusher.start(interval, Math.max(interval, LATER_PUSH_INTERVAL_MS));
      print(
        `the demo now pushes a commit every ${Math.round(interval / 1000)} s (a flaky test, a broken build and its fix, …; ` +
          `after one round every ${Math.round(Math.max(interval, LATER_PUSH_INTERVAL_MS) / 1000)} s); Ctrl-C stops it`,
      );
    } else print('the master keeps running; Ctrl-C stops it');
    await stopSignal;
    print('stopping');
    return 0;
  } finally {
    await pusher?.stop();
    reporter?.close();
    await master?.stop().catch((err: unknown) => print(`stopping the master failed: ${String(err)}`));
    await host?.stop();
    logger.flush();
  }
}

async function prepareDatabase(basedir: string, logger: Logger, print: (line: string) => void): Promise<void> {
  const db = await openDatabase({ url: DEFAULT_DB_URL, basedir, logger });
  try {
    const result = await upgradeDatabase(db, { logger });
    if (!result.upToDate) print(`database state.sqlite ready (${result.applied.length} migrations applied)`);
  } finally {
    await db.close();
  }
}

async function startHost(o: {
  dir: string;
  authorizedKey: string;
  home: string;
  logger: Logger;
  preferredPort?: number;
}): Promise<EmbeddedSshHost> {
  const base = { dir: o.dir, authorizedKey: o.authorizedKey, home: o.home, logger: o.logger };
  if (o.preferredPort) {
    try {
      return await EmbeddedSshHost.start({ ...base, port: o.preferredPort });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  return EmbeddedSshHost.start(base);
}

/** The port asked for (0: any free one), else the previous run's or 8010 if free, else any free one. */
async function wwwPortFor(asked: number | undefined, previous: number | undefined): Promise<number> {
  if (asked === undefined) return pickPort([previous, PREFERRED_WWW_PORT]);
  const got = await tryListen(asked);
  if (got === undefined) throw new UsageError(`port ${asked} on 127.0.0.1 is in use: pick another with --port or BUILDMASTER_DEMO_PORT`);
  return got;
}

/** The first candidate port that is free on 127.0.0.1, else any free one. */
async function pickPort(candidates: (number | undefined)[]): Promise<number> {
  for (const port of [...candidates, 0]) {
    if (port === undefined) continue;
    const got = await tryListen(port);
    if (got !== undefined) return got;
  }
  throw new Error('no free TCP port on 127.0.0.1');
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as { port: number }).port;
      srv.close(() => resolve(got));
    });
  });
}

/** Whether the URL answers 200, and with HTML: what the web server serves is printed only once it does. */
function probe(url: string): Promise<{ ok: boolean; html: boolean }> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve({ ok: res.statusCode === 200, html: /text\/html/.test(String(res.headers['content-type'])) });
    });
    req.on('error', () => resolve({ ok: false, html: false }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.once(sig, () => process.exit(130));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'demo'; // no passwd entry (some containers); the embedded host checks the key only
  }
}

async function readState(basedir: string): Promise<DemoState> {
  try {
    return JSON.parse(await readFile(join(basedir, STATE_FILE), 'utf8')) as DemoState;
  } catch {
    return {};
  }
}

async function writeState(basedir: string, state: DemoState): Promise<void> {
  await writeFile(join(basedir, STATE_FILE), `${JSON.stringify(state)}\n`);
}
