/**
 * `npm run demo`: a master with no setup. It makes ./demo-master (reused on later runs) with a
 * sqlite database, a key pair for the master, an embedded loopback SSH host as the one worker (its
 * host key pinned in known_hosts), a git repository holding a small project, and a master.config.ts
 * with two builders; starts the master in this process, forces a build on each builder, prints what
 * happens, then keeps running until Ctrl-C (or, with --once, exits 0 when every build succeeded).
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
import { Master } from '../master/master.js';
import { masterPaths } from '../master/paths.js';
import { resultName, SUCCESS } from '../process/results.js';
import { createLogger, type Logger } from '../util/log.js';
import { addKnownHost } from '../workers/knownHosts.js';
import { DEMO_BUILDERS, DEMO_SCHEDULER, demoConfigText } from './demoConfig.js';
import { DEMO_BRANCH, ensureDemoRepo } from './demoProject.js';
import { DemoReporter } from './demoReporter.js';
import { EmbeddedSshHost, ensureKeyPair } from './embeddedSshHost.js';

export const DEMO_DIR = 'demo-master';
const STATE_FILE = 'demo.json';
const PREFERRED_WWW_PORT = 8010;

export interface DemoOptions {
  /** Where demo-master goes (default: the current directory). */
  cwd?: string;
  /** The master directory, relative to cwd (default 'demo-master'). */
  dir?: string;
  /** Run the builds, then stop: exit code 0 when all succeeded, 1 otherwise. */
  once?: boolean;
  /** How long --once waits for the builds (default 5 minutes). */
  timeoutMs?: number;
  print?: (line: string) => void;
  /** Resolves when the user asks to stop (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<void>;
}

/** Ports from the previous run, so known_hosts and the web UI URL stay the same. */
interface DemoState {
  sshPort?: number;
  wwwPort?: number;
}

interface BuildsetDone {
  results: number;
}

export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const paths = masterPaths(resolve(cwd, opts.dir ?? DEMO_DIR));
  const show = (p: string) => relative(cwd, p) || '.';
  const stopSignal = opts.stopSignal ?? signalled();

  await mkdir(paths.basedir, { recursive: true });
  const state = await readState(paths.basedir);
  const logger = createLogger({ destination: paths.logFile });
  let host: EmbeddedSshHost | undefined;
  let master: Master | undefined;
  let reporter: DemoReporter | undefined;

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

    const wwwPort = await pickPort([state.wwwPort, PREFERRED_WWW_PORT]);
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
    print(`master started (masterid ${master.masterid}); forcing a build on ${DEMO_BUILDERS.join(' and ')}`);

    const builderNames = new Map([...master.builderIds()].map(([name, id]) => [id, name]));
    reporter = new DemoReporter(master.bus, (id) => builderNames.get(id) ?? `builder ${id}`, print);
    const done = new Map<number, BuildsetDone>();
    const unsubscribe = master.bus.subscribe(['buildsets', '*', 'complete'], (key, message) => {
      done.set(Number(key[1]), { results: (message as { results: number }).results });
    });
    const bsids: number[] = [];
    try {
      for (const name of DEMO_BUILDERS) {
        const { bsid } = await master.force(DEMO_SCHEDULER, { builderNames: [name], reason: 'the demo', owner: 'demo' });
        bsids.push(bsid);
      }
      const outcome = await Promise.race([
        waitUntil(() => bsids.every((id) => done.has(id)), opts.timeoutMs ?? 300_000),
        stopSignal.then(() => 'stopped' as const),
      ]);
      if (outcome === 'stopped') {
        print('stopping (the builds had not finished)');
        return 1;
      }
      if (outcome === 'timeout') print(`the builds did not finish within ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s`);
    } finally {
      unsubscribe();
    }

    const results = bsids.map((id) => done.get(id)?.results);
    const ok = results.every((r) => r === SUCCESS);
    print(ok ? 'all builds succeeded' : `builds finished: ${results.map((r) => resultName(r)).join(', ')}`);
    const wwwUrl = master.www ? `http://127.0.0.1:${master.www.port}/` : undefined;
    const api = wwwUrl && (await probe(`${wwwUrl}api/v2`));
    const ui = wwwUrl && (await probe(wwwUrl));
    print('');
    print('where to look:');
    print(`  database     ${show(join(paths.basedir, 'state.sqlite'))}  (builds, steps, logs: Buildbot's tables)`);
    print(`  master log   ${show(paths.logFile)}`);
    print(`  config       ${show(paths.config)}`);
    print(`  checkouts    ${show(slaveDir)}/<builder>/build`);
    if (ui && ui.ok && ui.html) print(`  web UI       ${wwwUrl}`);
    if (api && api.ok) {
      print(`  REST API     ${wwwUrl}api/v2`);
      print(
        `  force again  curl -s -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"force","params":{}}' ${wwwUrl}api/v2/forceschedulers/${DEMO_SCHEDULER}`,
      );
    }
    if (opts.once) return ok ? 0 : 1;

    print('');
    print('the master keeps running; Ctrl-C stops it');
    await stopSignal;
    print('stopping');
    return 0;
  } finally {
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

function waitUntil(cond: () => boolean, timeoutMs: number): Promise<'done' | 'timeout'> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      if (cond()) resolve('done');
      else if (Date.now() > deadline) resolve('timeout');
      else setTimeout(tick, 50);
    };
    tick();
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
