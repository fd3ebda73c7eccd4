/**
 * The Master service on one master: loads the config, opens the database, housekeeps what its
 * previous incarnation left, registers its builders and workers, heartbeats, keeps one SSH connection
 * per worker, distributes requests to builds, and stops cleanly.
 *
 *   const master = await Master.start({ basedir, logger, www: true });
 *   await master.force('force', { builderNames: ['hello'], reason: 'try it' });
 *   await master.reconfig();                   // apply the edited config; running builds go on
 *   await master.stop();                       // graceful: running builds get shutdown.buildBound, then RETRY
 *
 * Start order (Buildbot's, master.py): find our masters row by name (host:basedir) → housekeep our
 * own leftovers at once (their builds RETRY, their requests released) → builders, workers and their
 * DB rows from the config → active + heartbeat → connections, distributor, web.
 */
import { resolve } from 'node:path';
import type { ResolvedBuilder, ResolvedConfig, ResolvedForceScheduler } from '../config/resolved.js';
import { loadConfig } from '../config/loader.js';
import { ConfigError } from '../errors/ConfigError.js';
import { openDatabase, type Database } from '../db/connection.js';
import { assertSchemaCurrent } from '../db/migrate.js';
import { findOrCreateBuilder, setBuilderMasters } from '../db/builders.js';
import type { BuildrequestRow } from '../db/buildrequests.js';
import { findOrCreateMaster, getMaster, markMasterActive, markMasterInactive, recordMasterBoot } from '../db/masters.js';
import { dbAvailability } from '../db/outage.js';
import { findOrCreateWorker, setConfiguredWorkers, workerConnected } from '../db/workers.js';
import { BuildmasterError } from '../errors/BuildmasterError.js';
import { ChangeSources } from '../changes/changeSources.js';
import { Build, type BuildDeps } from '../process/build.js';
import { BuildsetCache } from '../process/buildsetCache.js';
import { Distributor, type DistributorBuilder } from '../process/distributor.js';
import { workerHandle, type BuilderHandle, type WorkerHandle } from '../process/handles.js';
import type { CollapseContext } from '../process/requestCollapser.js';
import { EXCEPTION, RETRY } from '../process/results.js';
import { submitBuildset, type SubmitBuildsetSpec } from '../process/submitBuildset.js';
import { prepareForce, type ForceArgs } from '../schedulers/forceScheduler.js';
import { silentLogger, type Logger } from '../util/log.js';
import { WwwServer } from '../www/app.js';
import { MessageBus } from './bus.js';
import { housekeepMaster } from './housekeeping.js';
import { masterName } from './identity.js';
import { masterPaths } from './paths.js';
import { secretsLookup, type SecretsLookup } from './secrets.js';
import { WorkerManager } from './workerManager.js';
import { HistoryAnalyzer } from '../history/analyzer.js';
import { BuildHistoryRecorder } from '../history/recorder.js';
import { MasterExpiry } from './expiry.js';
import { JanitorService } from './janitor.js';
import { Heartbeat } from './heartbeat.js';
import { SchedulerManager } from '../schedulers/manager.js';
import { describePlan, planReconfig, type ReconfigPlan } from './reconfig.js';
import type { StopOutcome } from './statusFile.js';

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
  /** How long a graceful stop waits for running builds (default config shutdown.buildBound; Infinity waits for them all). */
  timeoutMs?: number;
}

export interface StopResult {
  /** clean: no build had to be stopped; bound: builds outlasted the wait; forced: stopped at once (graceful false, a second stop). */
  outcome: StopOutcome;
  /** The builds ended RETRY (their requests run again). */
  retried: number[];
}

/** What a reconfig did: rejected with the config's problems, or applied. */
export type ReconfigResult =
  | { ok: false; errors: string[] }
  | { ok: true; changes: string[]; restartNeeded: string[]; plan: ReconfigPlan };

/** After the graceful wait, how long builds told to stop get to end RETRY before housekeeping does it. */
const STOP_BUILDS_BOUND_MS = 15_000;
/** Used only when a caller gives no timeout and the config none either (config defaults to 30 s too). */
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
  /** Replaced by a reconfig that changes the builders. */
  distributor: Distributor;
  www: WwwServer | undefined;
  /** The schedulers (each active here or on another master sharing the DB). */
  schedulers: SchedulerManager | undefined;
  /** The change sources (each polls on the one master holding its claim). */
  changeSources: ChangeSources | undefined;
  /** Records each finished step's error lines, test results and intermittent tests (off the builds' path). */
  history: HistoryAnalyzer | undefined;
  /** Durations for trends and regression alerts of finished builds; the configured known issues. */
  historyRecorder: BuildHistoryRecorder | undefined;
  private expiry: MasterExpiry | undefined;
  /** Garbage collection (runs on the one master holding the janitor lease). */
  janitor: JanitorService | undefined;
  private readonly running = new Set<RunningBuild>();
  private readonly builderIdByName: Map<string, number>;
  private readonly builderById: Map<number, DistributorBuilder>;
  private readonly secrets: SecretsLookup;
  /** Buildsets this master added or read: their builds and messages need not read them again. */
  private readonly buildsets: BuildsetCache;
  private heartbeat: Heartbeat | undefined;
  private stopping = false;
  private stopPromise: Promise<StopResult> | undefined;
  private hurry: () => void = () => {};
  private hurried = false;
  /** Reconfigs run one at a time. */
  private reconfigChain: Promise<unknown> = Promise.resolve();
  private readonly opts: MasterStartOptions;

  private constructor(
    readonly basedir: string,
    readonly name: string,
    /** The config in force (a reconfig replaces it; a running build keeps the one it started with). */
    public config: ResolvedConfig,
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
    this.opts = opts;
    this.logger = rootLogger.child({ component: 'master' });
    this.secrets = secretsLookup(config.secrets);
    this.buildsets = new BuildsetCache(db);
    this.builderIdByName = new Map(builders.map((b) => [b.name, b.builderid]));
    this.builderById = new Map(builders.map((b) => [b.builderid, b]));
    this.workers = new WorkerManager({ db, bus, logger: rootLogger, masterid, basedir, secrets: this.secrets, backoff: opts.sshBackoff });
    this.distributor = this.makeDistributor(builders);
    this.workers.onAvailable = () => this.distributor.wake();
    this.workers.start(workers);
  }

  private makeDistributor(builders: DistributorBuilder[]): Distributor {
    return new Distributor({
      db: this.db,
      bus: this.bus,
      logger: this.rootLogger,
      masterid: this.masterid,
      builders,
      master: this,
      prioritizeBuilders: this.config.prioritizeBuilders,
      pollIntervalMs: this.opts.pollIntervalMs,
      buildsets: this.buildsets,
      fenceClaims: true,
      workers: {
        isAvailable: (name, builderid) => this.workers.isAvailable(name, builderid),
        handle: (name) => {
          const w = this.workers.get(name);
          return w && workerHandle(w.config, w.running);
        },
      },
      startBuild: (b, w, requests) => this.startBuild(b, w, requests),
    });
  }

  static async start(opts: MasterStartOptions): Promise<Master> {
    const bootTime = nowSeconds();
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
      const boot = await recordMasterBoot(db, name, bootTime);
      logger.info({ event: 'master.boot', masterid, name, ...boot }, `master ${name} (id ${masterid}) booting, incarnation ${boot.incarnation}`);
      // Our previous incarnation may have crashed mid-build: end its builds and release its requests
      // before anything else can look at them.
      await housekeepMaster(db, bus, logger, masterid, { stateString: 'interrupted: master restarted' });

      const { builders, workers } = await registerConfig(db, masterid, config);
      for (const b of builders) bus.publish(['builders', String(b.builderid), 'started'], { builderid: b.builderid, name: b.name, masterid });
      await markMasterActive(db, masterid, nowSeconds());
      bus.publish(['masters', String(masterid), 'started'], { masterid, name, active: true });

      master = new Master(basedir, name, config, db, masterid, rootLogger, builders, workers, opts, bus);
      master.startHeartbeat();
      master.watchDbOutages();
      master.history = HistoryAnalyzer.start({ db, bus, logger: rootLogger, maxErrorLines: config.history.maxErrorLines, policy: config.history.intermittent });
      master.historyRecorder = await BuildHistoryRecorder.start({ db, bus, logger: rootLogger, config: config.history });
      await master.startSchedulers();
      master.changeSources = ChangeSources.start(
        { db, bus, logger: rootLogger, masterid, basedir, deadMasterTimeout: config.multiMaster.deadMasterTimeout },
        config.changeSources,
      );
      master.distributor.start();
      master.janitor = new JanitorService({ db, logger: rootLogger, masterid, config: config.janitor });
      master.janitor.start();
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

  /** The build `buildid` if it runs on this master (the web's stop control, lib/www/control). */
  runningBuild(buildid: number): Build | undefined {
    for (const r of this.running) if (r.build.buildid === buildid) return r.build;
    return undefined;
  }

  /** Adds a buildset as a scheduler does, collapsing requests (the web's rebuild control). */
  submitBuildset(spec: SubmitBuildsetSpec): Promise<{ bsid: number; brids: Record<number, number> }> {
    if (this.stopping) throw new BuildmasterError('the master is stopping; it accepts no new builds', { userError: true });
    return submitBuildset(this.collapseContext(), spec);
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
  stop(opts: MasterStopOptions = {}): Promise<StopResult> {
    if (this.stopPromise) {
      if (opts.graceful === false) {
        this.hurried = true;
        this.hurry();
      }
      return this.stopPromise;
    }
    this.stopPromise = this.doStop(opts);
    return this.stopPromise;
  }

  private async doStop({ graceful = true, timeoutMs = this.config.shutdown ? this.config.shutdown.buildBound * 1000 : DEFAULT_GRACEFUL_TIMEOUT_MS }: MasterStopOptions): Promise<StopResult> {
    this.stopping = true;
    const hurried = new Promise<void>((resolve) => (this.hurry = resolve));
    // A reconfig under way finishes first: it must not register builders after housekeeping.
    await this.reconfigChain;
    let outcome: StopOutcome = 'clean';
    const retried: number[] = [];
    this.logger.info({ event: 'master.stopping', graceful, running: this.running.size }, `master stopping (${this.running.size} build(s) running)`);
    // No new changes: stop polling (killing a running git/hg) and release the change sources.
    await this.changeSources?.stop().catch((err: unknown) => this.logger.error({ event: 'changes.stopFailed', err: String(err) }, 'stopping the change sources failed'));
    await this.distributor.stop();

    if (graceful && this.running.size > 0) {
      this.logger.info({ event: 'master.waitingForBuilds', running: this.running.size, timeoutMs }, `waiting for ${this.running.size} build(s) to finish`);
      await this.waitForBuilds(timeoutMs, hurried);
    }
    if (this.running.size > 0) {
      outcome = graceful && !this.hurried ? 'bound' : 'forced';
      this.logger.warn({ event: 'master.stoppingBuilds', running: this.running.size, outcome }, `stopping ${this.running.size} build(s) RETRY: their requests will run again`);
      for (const r of this.running) {
        retried.push(r.build.buildid);
        r.build.stop('Master Shutdown', RETRY);
      }
      await this.waitForBuilds(STOP_BUILDS_BOUND_MS);
    }

    await this.www?.stop().catch((err: unknown) => this.logger.error({ event: 'www.stopFailed', err: String(err) }, 'closing the web server failed'));
    await this.janitor?.stop();
    this.heartbeat?.stop();
    await this.schedulers?.stop().catch((err: unknown) => this.logger.error({ event: 'schedulers.stopFailed', err: String(err) }, 'stopping the schedulers failed'));
    await this.workers.stop();
    await this.history?.stop();
    await this.historyRecorder?.stop();
    try {
      await housekeepMaster(this.db, this.bus, this.logger, this.masterid, { stateString: 'interrupted: master stopped' });
      await markMasterInactive(this.db, this.masterid);
      this.bus.publish(['masters', String(this.masterid), 'stopped'], { masterid: this.masterid, name: this.name, active: false });
    } finally {
      dbAvailability(this.db).stop();
      await this.db.close();
    }
    this.logger.info({ event: 'master.stopped', masterid: this.masterid, outcome, retried }, `master stopped (${outcome}${retried.length ? `: ${retried.length} build(s) ended RETRY` : ''})`);
    return { outcome, retried };
  }

  /**
   * Reconfig (SIGHUP, `buildmaster reconfig`): load and validate the config file again; if it has
   * problems, or changes what cannot change live, reject it and keep the old one. Otherwise apply the
   * plan (reconfig.ts) without stopping a running build. One at a time; refused while stopping.
   */
  reconfig(configFile = this.opts.configFile ?? masterPaths(this.basedir).config): Promise<ReconfigResult> {
    const run = this.reconfigChain.then(() => this.doReconfig(configFile));
    this.reconfigChain = run.catch(() => undefined);
    return run;
  }

  private async doReconfig(configFile: string): Promise<ReconfigResult> {
    if (this.stopping) return { ok: false, errors: ['the master is stopping'] };
    this.logger.info({ event: 'master.reconfiguring', file: configFile }, 'reconfig: loading the config');
    let next: ResolvedConfig;
    try {
      next = (await loadConfig(configFile)).config;
    } catch (err) {
      const errors = err instanceof ConfigError ? err.message.split('\n').filter(Boolean) : [(err as Error)?.message ?? String(err)];
      this.logger.error({ event: 'master.reconfigRejected', errors }, `reconfig rejected; the old config stays in force:\n${errors.join('\n')}`);
      return { ok: false, errors };
    }
    const plan = planReconfig(this.config, next);
    if (plan.refused.length) {
      this.logger.error({ event: 'master.reconfigRejected', errors: plan.refused }, `reconfig rejected; the old config stays in force: ${plan.refused.join('; ')}`);
      return { ok: false, errors: plan.refused };
    }
    const old = this.config;
    this.config = next;
    if (this.opts.useConfigLogLevel && !process.env.BUILDMASTER_LOG_LEVEL) this.rootLogger.level = next.logLevel;
    try {
      await this.applyBuildersAndWorkers(plan, next);
      if (plan.schedulersChanged) await this.schedulers?.reconfig(next.schedulers);
      await this.historyRecorder?.reconfig(next.history);
      this.history?.reconfig({ maxErrorLines: next.history.maxErrorLines, policy: next.history.intermittent });
      if (plan.changeSourcesChanged) {
        await this.changeSources?.stop();
        this.changeSources = ChangeSources.start(
          { db: this.db, bus: this.bus, logger: this.rootLogger, masterid: this.masterid, basedir: this.basedir, deadMasterTimeout: old.multiMaster.deadMasterTimeout },
          next.changeSources,
        );
      }
    } catch (err) {
      // Half applied (a DB error, say): say so loudly; the next reconfig or a restart converges.
      this.logger.error({ event: 'master.reconfigFailed', err: (err as Error)?.stack ?? String(err) }, `reconfig failed part way: ${(err as Error)?.message}`);
      return { ok: false, errors: [`applying the config failed part way: ${(err as Error)?.message ?? String(err)} (reconfig again, or restart the master)`] };
    }
    const changes = describePlan(plan);
    this.logger.info(
      { event: 'master.reconfigured', changes, restartNeeded: plan.restartNeeded },
      `reconfig applied${changes.length ? `: ${changes.join('; ')}` : ' (no changes)'}${plan.restartNeeded.length ? `; these settings take effect at the next start: ${plan.restartNeeded.join(', ')}` : ''}`,
    );
    return { ok: true, changes, restartNeeded: plan.restartNeeded, plan };
  }

  /** Builder and worker rows, the workers' connections, and a distributor for the new builders. */
  private async applyBuildersAndWorkers(plan: ReconfigPlan, next: ResolvedConfig): Promise<void> {
    const removedIds = plan.builders.removed.map((n) => this.builderIdByName.get(n)).filter((x): x is number => x !== undefined);
    const { builders, workers } = await registerConfig(this.db, this.masterid, next);
    for (const w of plan.workers.updated) {
      const mw = this.workers.get(w.name);
      if (mw) mw.config = w;
    }
    const ids = new Map(workers.map((w) => [w.config.name, w.workerid]));
    const added = plan.workers.added.map((w) => ({ config: w, workerid: ids.get(w.name)! }));
    this.workers.start(added);
    // Not awaited: a worker reconnects (or goes) once its running builds have ended.
    for (const w of plan.workers.reconnect) void this.workers.retire(w.name, { config: w, workerid: ids.get(w.name)! });
    for (const name of plan.workers.removed) void this.workers.retire(name);

    this.builderIdByName.clear();
    this.builderById.clear();
    for (const b of builders) {
      this.builderIdByName.set(b.name, b.builderid);
      this.builderById.set(b.builderid, b);
    }
    // A fresh distributor claims for the new builders only; builds it started run on unaffected.
    await this.distributor.stop();
    this.distributor = this.makeDistributor(builders);
    if (!this.stopping) this.distributor.start();
    for (const b of plan.builders.added) {
      const builderid = this.builderIdByName.get(b.name)!;
      this.bus.publish(['builders', String(builderid), 'started'], { builderid, name: b.name, masterid: this.masterid });
    }
    for (const builderid of removedIds) this.bus.publish(['builders', String(builderid), 'stopped'], { builderid, masterid: this.masterid });
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

  /**
   * When the database comes back from an outage, before our builds' waiting writes go on: if the
   * outage outlasted deadMasterTimeout, another master has declared us dead, ended our builds RETRY
   * and released their requests (which may already run elsewhere). Stop ours RETRY then, rather
   * than let them complete requests twice; the heartbeat then finds active = 0 and rejoins.
   */
  private watchDbOutages(): void {
    dbAvailability(this.db).beforeResume(async () => {
      const row = await getMaster(this.db, this.masterid);
      if (!row || Number(row.active) === 1) return;
      this.logger.warn({ event: 'master.expiredDuringOutage', running: this.running.size }, 'declared dead while the database was away: stopping our builds RETRY');
      for (const r of this.running) r.build.stop('master was declared dead while the database was away', RETRY);
    });
  }

  private startHeartbeat(): void {
    this.heartbeat = new Heartbeat({
      db: this.db,
      logger: this.rootLogger,
      masterid: this.masterid,
      intervalSeconds: this.config.multiMaster.heartbeatInterval,
      afterBeat: () => this.expiry?.run() ?? Promise.resolve(),
      onDeclaredDead: () => this.rejoin(),
    });
    this.heartbeat.start();
  }

  /**
   * Another master declared us dead and took our work: our builds were ended RETRY and their
   * requests released (perhaps already running elsewhere), our fenced claims fail. Stop what still
   * runs here, housekeep ourselves, re-register our builders and connected workers, and go active
   * again as a live master.
   */
  private async rejoin(): Promise<void> {
    for (const r of this.running) r.build.stop('master was declared dead by another master', RETRY);
    await this.waitForBuilds(STOP_BUILDS_BOUND_MS);
    if (this.stopping) return;
    await housekeepMaster(this.db, this.bus, this.logger, this.masterid, { stateString: 'interrupted: master was declared dead' });
    const bmids = await setBuilderMasters(this.db, this.masterid, [...this.builderById.keys()]);
    for (const b of this.builderById.values()) {
      const bmid = bmids.get(b.builderid);
      const ids = b.config.workernames.map((n) => this.workers.get(n)?.workerid).filter((x): x is number => x !== undefined);
      if (bmid !== undefined) await setConfiguredWorkers(this.db, bmid, ids);
    }
    for (const w of this.workers.all()) if (w.connection.isConnected()) await workerConnected(this.db, w.workerid, this.masterid);
    await markMasterActive(this.db, this.masterid, nowSeconds());
    this.logger.warn({ event: 'master.rejoined', masterid: this.masterid }, 'master is active again after being declared dead');
    this.distributor.wake();
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

/**
 * The config's builders and workers in the DB, as this master's: builders rows (created when new),
 * builder_masters rows for exactly these builders (others of this master removed), workers rows and
 * each builder's configured_workers. Run at start and by every reconfig.
 */
async function registerConfig(
  db: Database,
  masterid: number,
  config: ResolvedConfig,
): Promise<{ builders: DistributorBuilder[]; workers: { config: ResolvedConfig['workers'][number]; workerid: number }[] }> {
  const builders: DistributorBuilder[] = [];
  for (const b of config.builders as ResolvedBuilder[]) {
    const builderid = await findOrCreateBuilder(db, b.name, { description: b.description ?? null, tags: b.tags });
    builders.push({ builderid, name: b.name, config: b });
  }
  const workers: { config: ResolvedConfig['workers'][number]; workerid: number }[] = [];
  for (const w of config.workers) workers.push({ config: w, workerid: await findOrCreateWorker(db, w.name) });
  const bmids = await setBuilderMasters(db, masterid, builders.map((b) => b.builderid));
  const workerIds = new Map(workers.map((w) => [w.config.name, w.workerid]));
  for (const b of builders) {
    const bmid = bmids.get(b.builderid);
    if (bmid !== undefined) await setConfiguredWorkers(db, bmid, b.config.workernames.map((n) => workerIds.get(n)).filter((x): x is number => x !== undefined));
  }
  return { builders, workers };
}
