/**
 * The Master service on one master: loads the config, opens the database, housekeeps what its
 * previous incarnation left, registers its builders and workers, heartbeats, keeps one SSH connection
 * per worker, distributes requests to builds, and stops cleanly.
 *
 *   const master = await Master.start({ basedir, logger, www: true });
 *   await master.force('force', { builderNames: ['hello'], reason: 'try it' });
 *   await master.stop();                       // graceful: running builds get 30 s, then RETRY
 *
 * Start order (Buildbot's, master.py): find our masters row by name (host:basedir) → housekeep our
 * own leftovers at once (their builds RETRY, their requests released) → builders, workers and their
 * DB rows from the config → active + heartbeat → connections, distributor, web.
 */
import { resolve } from 'node:path';
import type { ResolvedBuilder, ResolvedConfig, ResolvedForceScheduler } from '../config/resolved.js';
import { loadConfig } from '../config/loader.js';
import { openDatabase, type Database } from '../db/connection.js';
import { assertSchemaCurrent } from '../db/migrate.js';
import { findOrCreateBuilder, setBuilderMasters } from '../db/builders.js';
import type { BuildrequestRow } from '../db/buildrequests.js';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../db/masters.js';
import { findOrCreateWorker, setConfiguredWorkers } from '../db/workers.js';
import { BuildmasterError } from '../errors/BuildmasterError.js';
import { ChangeSources } from '../changes/changeSources.js';
import { Build, type BuildDeps } from '../process/build.js';
import { BuildsetCache } from '../process/buildsetCache.js';
import { Distributor, type DistributorBuilder } from '../process/distributor.js';
import { workerHandle, type BuilderHandle, type WorkerHandle } from '../process/handles.js';
import type { CollapseContext } from '../process/requestCollapser.js';
import { EXCEPTION, RETRY } from '../process/results.js';
import { submitBuildset } from '../process/submitBuildset.js';
import { prepareForce, type ForceArgs } from '../schedulers/forceScheduler.js';
import { silentLogger, type Logger } from '../util/log.js';
import { WwwServer } from '../www/app.js';
import { MessageBus } from './bus.js';
import { housekeepMaster } from './housekeeping.js';
import { masterName } from './identity.js';
import { masterPaths } from './paths.js';
import { secretsLookup, type SecretsLookup } from './secrets.js';
import { WorkerManager } from './workerManager.js';
import { MasterExpiry } from './expiry.js';
import { SchedulerManager } from '../schedulers/manager.js';

export interface MasterStartOptions {
  basedir: string;
  /** Default: DIR/master.config.ts. */
  configFile?: string;
  logger?: Logger;
  /** Serve the web API on config.www (default false for library use; `buildmaster start` turns it on). */
  www?: boolean;
  /** Set the given logger's level from config.logLevel (the CLI's own logger). */
  useConfigLogLevel?: boolean;
  /** SSH reconnect delays (default 1 s … 60 s). */
  sshBackoff?: { baseMs?: number; maxMs?: number };
  /** Distributor poll (default 1000 ms). */
  pollIntervalMs?: number;
}

export interface MasterStopOptions {
  /** Let running builds finish first (default true), for at most `timeoutMs`. */
  graceful?: boolean;
  /** How long a graceful stop waits for running builds (default 30 s; Infinity waits for them all). */
  timeoutMs?: number;
}

/** After the graceful wait, how long builds told to stop get to end RETRY before housekeeping does it. */
const STOP_BUILDS_BOUND_MS = 15_000;
export const DEFAULT_GRACEFUL_TIMEOUT_MS = 30_000;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

interface RunningBuild {
  build: Build;
  worker: string;
  builderid: number;
}

export class Master {
  readonly bus: MessageBus;
  readonly logger: Logger;
  readonly workers: WorkerManager;
  readonly distributor: Distributor;
  www: WwwServer | undefined;
  /** The schedulers (each active here or on another master sharing the DB). */
  schedulers: SchedulerManager | undefined;
  /** The change sources (each polls on the one master holding its claim). */
  changeSources: ChangeSources | undefined;
  private expiry: MasterExpiry | undefined;
  private readonly running = new Set<RunningBuild>();
  private readonly builderIdByName: Map<string, number>;
  private readonly builderById: Map<number, DistributorBuilder>;
  private readonly secrets: SecretsLookup;
  /** Buildsets this master added or read: their builds and messages need not read them again. */
  private readonly buildsets: BuildsetCache;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  private hurry: () => void = () => {};

  private constructor(
    readonly basedir: string,
    readonly name: string,
    readonly config: ResolvedConfig,
    readonly db: Database,
    readonly masterid: number,
    /** The logger given to start(); components take their own child of it. */
    private readonly rootLogger: Logger,
    builders: DistributorBuilder[],
    workers: { config: ResolvedConfig['workers'][number]; workerid: number }[],
    opts: MasterStartOptions,
    bus: MessageBus,
  ) {
    this.bus = bus;
    this.logger = rootLogger.child({ component: 'master' });
    this.secrets = secretsLookup(config.secrets);
    this.buildsets = new BuildsetCache(db);
    this.builderIdByName = new Map(builders.map((b) => [b.name, b.builderid]));
    this.builderById = new Map(builders.map((b) => [b.builderid, b]));
    this.workers = new WorkerManager({ db, bus, logger: rootLogger, masterid, basedir, secrets: this.secrets, backoff: opts.sshBackoff });
    this.distributor = new Distributor({
      db,
      bus,
      logger: rootLogger,
      masterid,
      builders,
      master: this,
      prioritizeBuilders: config.prioritizeBuilders,
      pollIntervalMs: opts.pollIntervalMs,
      buildsets: this.buildsets,
      workers: {
        isAvailable: (name, builderid) => this.workers.isAvailable(name, builderid),
        handle: (name) => {
          const w = this.workers.get(name);
          return w && workerHandle(w.config, w.running);
        },
      },
      startBuild: (b, w, requests) => this.startBuild(b, w, requests),
    });
    this.workers.onAvailable = () => this.distributor.wake();
    this.workers.start(workers);
  }

  static async start(opts: MasterStartOptions): Promise<Master> {
    const basedir = resolve(opts.basedir);
    const rootLogger = opts.logger ?? silentLogger();
    const logger = rootLogger.child({ component: 'master' });
    const { config } = await loadConfig(opts.configFile ?? masterPaths(basedir).config);
    if (opts.useConfigLogLevel && opts.logger && !process.env.BUILDMASTER_LOG_LEVEL) opts.logger.level = config.logLevel;
    const bus = new MessageBus((err, key) =>
      logger.error({ event: 'bus.listenerFailed', key: key.join('.'), err: (err as Error)?.stack ?? String(err) }, 'a bus listener threw'),
    );
    const db = await openDatabase({ url: config.db.url, basedir, logger: rootLogger });
    let master: Master | undefined;
    try {
      await assertSchemaCurrent(db);
      const name = masterName(basedir);
      const masterid = await findOrCreateMaster(db, name);
      // Our previous incarnation may have crashed mid-build: end its builds and release its requests
      // before anything else can look at them.
      await housekeepMaster(db, bus, logger, masterid, { stateString: 'interrupted: master restarted' });

      const builders = await registerBuilders(db, config);
      const workers: { config: ResolvedConfig['workers'][number]; workerid: number }[] = [];
      for (const w of config.workers) workers.push({ config: w, workerid: await findOrCreateWorker(db, w.name) });
      const bmids = await setBuilderMasters(db, masterid, builders.map((b) => b.builderid));
      const workerIds = new Map(workers.map((w) => [w.config.name, w.workerid]));
      for (const b of builders) {
        const bmid = bmids.get(b.builderid);
        if (bmid !== undefined) await setConfiguredWorkers(db, bmid, b.config.workernames.map((n) => workerIds.get(n)).filter((x): x is number => x !== undefined));
        bus.publish(['builders', String(b.builderid), 'started'], { builderid: b.builderid, name: b.name, masterid });
      }
      await markMasterActive(db, masterid, nowSeconds());
      bus.publish(['masters', String(masterid), 'started'], { masterid, name, active: true });

      master = new Master(basedir, name, config, db, masterid, rootLogger, builders, workers, opts, bus);
      master.startHeartbeat();
      await master.startSchedulers();
      master.changeSources = ChangeSources.start(
        { db, bus, logger: rootLogger, masterid, basedir, deadMasterTimeout: config.multiMaster.deadMasterTimeout },
        config.changeSources,
      );
      master.distributor.start();
      if (opts.www) master.www = await WwwServer.start(master, rootLogger);
      logger.info(
        { event: 'master.running', masterid, workers: workers.length, builders: builders.length },
        `master is running (masterid ${masterid}, ${workers.length} workers, ${builders.length} builders)`,
      );
      return master;
    } catch (err) {
      if (master) await master.stop({ graceful: false }).catch(() => {});
      else await db.close().catch(() => {});
      throw err;
    }
  }

  /** name → builderid of this master's builders. */
  builderIds(): ReadonlyMap<string, number> {
    return this.builderIdByName;
  }

  /** Builds running on this master now. */
  runningBuilds(): number {
    return this.running.size;
  }

  /**
   * Force a build through the ForceScheduler called `schedulerName` (Buildbot's force()): one request
   * per builder, properties reason/owner ('Force Build Form') and scheduler ('Scheduler'), one source
   * stamp per codebase. Throws ForceValidationError for invalid arguments.
   */
  async force(schedulerName: string, args: ForceArgs = {}): Promise<{ bsid: number; brids: Record<number, number> }> {
    if (this.stopping) throw new BuildmasterError('the master is stopping; it accepts no new builds', { userError: true });
    const sched = this.config.schedulers.find((s): s is ResolvedForceScheduler => s.kind === 'ForceScheduler' && s.name === schedulerName);
    if (!sched) {
      const names = this.config.schedulers.filter((s) => s.kind === 'ForceScheduler').map((s) => s.name);
      throw new BuildmasterError(`no ForceScheduler named '${schedulerName}'${names.length ? ` (there is ${names.join(', ')})` : ''}`, { userError: true });
    }
    const prepared = prepareForce(sched, args, (id) => this.builderById.get(id)?.name);
    const builderids = prepared.builderNames.map((n) => this.builderIdByName.get(n)).filter((x): x is number => x !== undefined);
    return submitBuildset(this.collapseContext(), {
      scheduler: sched.name,
      sourcestamps: prepared.sourcestamps,
      reason: prepared.reasonText,
      properties: prepared.properties,
      builderids,
    });
  }

  /**
   * Stop: claim nothing more; let running builds finish (graceful, up to timeoutMs), then stop the rest
   * RETRY so their requests are released; close the web server and the SSH connections; housekeep
   * anything still open; mark the master inactive; close the DB. Calling it again while it runs with
   * `graceful: false` cuts the wait short (a second signal).
   */
  stop(opts: MasterStopOptions = {}): Promise<void> {
    if (this.stopPromise) {
      if (opts.graceful === false) this.hurry();
      return this.stopPromise;
    }
    this.stopPromise = this.doStop(opts);
    return this.stopPromise;
  }

  private async doStop({ graceful = true, timeoutMs = DEFAULT_GRACEFUL_TIMEOUT_MS }: MasterStopOptions): Promise<void> {
    this.stopping = true;
    const hurried = new Promise<void>((resolve) => (this.hurry = resolve));
    this.logger.info({ event: 'master.stopping', graceful, running: this.running.size }, `master stopping (${this.running.size} build(s) running)`);
    // No new changes: stop polling (killing a running git/hg) and release the change sources.
    await this.changeSources?.stop().catch((err: unknown) => this.logger.error({ event: 'changes.stopFailed', err: String(err) }, 'stopping the change sources failed'));
    await this.distributor.stop();

    if (graceful && this.running.size > 0) {
      this.logger.info({ event: 'master.waitingForBuilds', running: this.running.size, timeoutMs }, `waiting for ${this.running.size} build(s) to finish`);
      await this.waitForBuilds(timeoutMs, hurried);
    }
    if (this.running.size > 0) {
      this.logger.warn({ event: 'master.stoppingBuilds', running: this.running.size }, `stopping ${this.running.size} build(s) RETRY: their requests will run again`);
      for (const r of this.running) r.build.stop('Master Shutdown', RETRY);
      await this.waitForBuilds(STOP_BUILDS_BOUND_MS);
    }

    await this.www?.stop().catch((err: unknown) => this.logger.error({ event: 'www.stopFailed', err: String(err) }, 'closing the web server failed'));
    clearInterval(this.heartbeat);
    await this.schedulers?.stop().catch((err: unknown) => this.logger.error({ event: 'schedulers.stopFailed', err: String(err) }, 'stopping the schedulers failed'));
    await this.workers.stop();
    try {
      await housekeepMaster(this.db, this.bus, this.logger, this.masterid, { stateString: 'interrupted: master stopped' });
      await markMasterInactive(this.db, this.masterid);
      this.bus.publish(['masters', String(this.masterid), 'stopped'], { masterid: this.masterid, name: this.name, active: false });
    } finally {
      await this.db.close();
    }
    this.logger.info({ event: 'master.stopped', masterid: this.masterid }, 'master stopped');
  }

  private async waitForBuilds(ms: number, hurried?: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all([...this.running].map((r) => r.build.finished.catch(() => undefined)));
    const bound = Number.isFinite(ms) ? new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))) : new Promise<void>(() => {});
    await Promise.race([all, bound, ...(hurried ? [hurried] : [])]);
    clearTimeout(timer);
    // Let the finished builds' bookkeeping (their .finally) run before counting what is left.
    await new Promise((r) => setImmediate(r));
  }

  private startHeartbeat(): void {
    const everyMs = Math.max(1, this.config.multiMaster.heartbeatInterval) * 1000;
    // Not unref'd: the heartbeat is what keeps a foreground master's process alive.
    this.heartbeat = setInterval(() => {
      markMasterActive(this.db, this.masterid, nowSeconds())
        .then(() => this.expiry?.run())
        .catch((err: unknown) => this.logger.error({ event: 'master.heartbeatFailed', err: (err as Error).message }, 'heartbeat failed'));
    }, everyMs);
  }

  /** Dead-master expiry (now, sweeping leftovers, then after each heartbeat) and the schedulers. */
  private async startSchedulers(): Promise<void> {
    const { heartbeatInterval, deadMasterTimeout } = this.config.multiMaster;
    const beatMs = Math.max(1, heartbeatInterval) * 1000;
    this.expiry = new MasterExpiry({ db: this.db, bus: this.bus, logger: this.rootLogger, masterid: this.masterid, deadMasterTimeout });
    await this.expiry.run({ sweep: true });
    const deps = {
      db: this.db,
      bus: this.bus,
      logger: this.rootLogger,
      masterid: this.masterid,
      buildsetContext: this.collapseContext(),
      builderId: (name: string) => this.builderIdByName.get(name),
      claimIntervalMs: beatMs,
      pollIntervalMs: Math.min(beatMs, 5_000),
      secrets: this.secrets,
    };
    this.schedulers = await SchedulerManager.start(deps, this.config.schedulers, {
      buildbotURL: this.config.buildbotURL,
      ownsBuild: (buildid, conn) => [...this.running].some((r) => r.build.buildid === buildid && this.workers.get(r.worker)?.connection === conn),
    });
  }

  private buildDeps(): BuildDeps {
    return {
      db: this.db,
      bus: this.bus,
      logger: this.rootLogger,
      masterid: this.masterid,
      basedir: this.basedir,
      config: this.config,
      secrets: this.secrets,
      buildsets: this.buildsets,
    };
  }

  /** The distributor's startBuild: counts the worker busy first, so no pass over-commits it. */
  private async startBuild(b: DistributorBuilder, wh: WorkerHandle, requests: BuildrequestRow[]): Promise<boolean> {
    const w = this.workers.get(wh.name);
    if (this.stopping || !w) return false;
    this.workers.reserve(w.name, b.builderid);
    const generation = w.generation;
    let build: Build;
    try {
      build = await Build.start(this.buildDeps(), {
        builder: { builderid: b.builderid, config: b.config },
        worker: { workerid: w.workerid, config: w.config, connection: w.connection },
        requests,
      });
    } catch (err) {
      this.workers.release(w.name, b.builderid);
      this.workers.quarantine(w.name, `a build could not start: ${(err as Error).message}`);
      throw err;
    }
    const entry: RunningBuild = { build, worker: w.name, builderid: b.builderid };
    this.running.add(entry);
    this.logger.info({ event: 'build.started', builder: b.name, worker: w.name, buildid: build.buildid, number: build.number }, `build ${b.name} #${build.number} started on ${w.name}`);
    void build.finished
      .then(({ results }) => {
        // Buildbot: an EXCEPTION, or a RETRY while the connection stayed up (the worker could not be
        // prepared), quarantines the worker; any other ending clears its record.
        const lostConnection = w.generation !== generation || !w.connection.isConnected();
        if (this.stopping) return;
        if (results === EXCEPTION || (results === RETRY && !lostConnection)) this.workers.quarantine(w.name, `build ${b.name} #${build.number} ended ${results === RETRY ? 'RETRY' : 'EXCEPTION'}`);
        else if (results !== RETRY) this.workers.resetQuarantine(w.name);
      })
      .catch((err: unknown) => this.logger.error({ event: 'build.failed', buildid: build.buildid, err: (err as Error)?.stack ?? String(err) }, 'build failed unexpectedly'))
      .finally(() => {
        this.running.delete(entry);
        this.workers.release(w.name, b.builderid);
      });
    return true;
  }

  private collapseContext(): CollapseContext {
    return {
      db: this.db,
      bus: this.bus,
      logger: this.logger,
      masterid: this.masterid,
      master: this,
      now: nowSeconds,
      buildsets: this.buildsets,
      collapseSettingFor: (builderid) => {
        const b = this.builderById.get(builderid);
        if (!b) return undefined;
        const builder: BuilderHandle = { name: b.name, builderid, config: b.config, getOldestRequestTime: async () => undefined };
        return { builder, setting: b.config.collapseRequests ?? this.config.collapseRequests };
      },
    };
  }
}

async function registerBuilders(db: Database, config: ResolvedConfig): Promise<DistributorBuilder[]> {
  const out: DistributorBuilder[] = [];
  for (const b of config.builders as ResolvedBuilder[]) {
    const builderid = await findOrCreateBuilder(db, b.name, { description: b.description ?? null, tags: b.tags });
    out.push({ builderid, name: b.name, config: b });
  }
  return out;
}
