/**
 * One build of a builder on a slave host, as Buildbot's process/build.py runs it:
 *
 *   created → starting (properties) → preparing worker → pinging worker (mkdir builddir)
 *   → acquiring locks → step 0 `worker_preparation` "worker W ready" → building → the steps
 *   → `build successful` | `failed …` | `retry lost connection …` | `cancelled (reason) …`
 *
 * Step results merge into the build's (haltOnFailure, alwaysRun, flunkOn…/warnOn…); a stop
 * interrupts the running command (its remote process tree is killed) and the build ends
 * CANCELLED; a lost connection ends the step and the build RETRY, and then the requests are
 * unclaimed so that they run again. Otherwise the requests are completed with the build's result
 * and each buildset completes when all its requests have. Every change is published on the bus.
 *
 *   const build = await Build.start(deps, { builder, worker, requests });
 *   build.stop('user asked');                 // optional
 *   const { results } = await build.finished; // never rejects
 */
import type { ResolvedBuilder, ResolvedConfig, WorkerConfig } from '../config/resolved.js';
import type { BuildrequestRow } from '../db/buildrequests.js';
import { completeRequests, getRequests, unclaimRequests } from '../db/buildrequests.js';
import { addBuild, completeBuild, getBuild, readStoredProperties, reviseBuildEnd, setBuildStateString, storeBuildProperties, type BuildEnd, type StoredProperties } from '../db/builds.js';
import { maybeCompleteBuildset } from '../db/buildsets.js';
import type { Database } from '../db/connection.js';
import { dbAvailability } from '../db/outage.js';
import type { KnownSteps } from '../db/steps.js';
import type { MessageBus } from '../master/bus.js';
import type { BuildSourceStamp } from '../steps/types.js';
import type { Logger } from '../util/log.js';
import type { SshConnection } from '../workers/sshConnection.js';
import type { CommandEnv } from '../workers/types.js';
import { buildProperties, loadRequestInputs, workerBuilddir } from './buildProperties.js';
import type { BuildsetCache } from './buildsetCache.js';
import { dbLogSink } from './dbLogSink.js';
import { DurableWrites } from './durableWrites.js';
import { acquireLocksWaiting, lockRequests, releaseLocks } from './locks.js';
import { DeferredText } from './deferredText.js';
import { publishBuildset, publishBuildsetFacts, publishRequest, publishRequestRow } from './messages.js';
import type { Properties } from './properties.js';
import { render, type RenderContext } from './render.js';
import { buildFinalStateString, CANCELLED, EXCEPTION, mergeStepResult, RETRY, SUCCESS, worstStatus, type ResultCode } from './results.js';
import { SecretMasker } from './secretMasker.js';
import { PreparationStep } from './preparationStep.js';
import { StepRunner, type StepEnvironment } from './stepRunner.js';
import { prepareWorker, WorkerUnavailable } from './workerPreparation.js';

export interface BuildDeps {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  masterid: number;
  basedir: string;
  config: ResolvedConfig;
  secrets: (name: string) => Promise<string | undefined>;
  /** Epoch seconds (default: the clock). */
  now?: () => number;
  /** The master's cache of buildsets (optional: without it they are read from the DB). */
  buildsets?: BuildsetCache;
}

/** The resolved builder config (Buildbot's BuilderConfig). */
export type BuilderConfig = ResolvedBuilder;

export interface StartBuildArgs {
  builder: { builderid: number; config: BuilderConfig };
  worker: { workerid: number; config: WorkerConfig; connection: SshConnection };
  /** Already claimed by this master; requests[0] gives the build's buildrequestid. */
  requests: BuildrequestRow[];
}

const epochNow = () => Math.floor(Date.now() / 1000);

export class Build {
  readonly buildid: number;
  readonly number: number;
  /** Resolves when everything about the build is written and published; never rejects. */
  readonly finished: Promise<{ results: number }>;

  private readonly deps: BuildDeps;
  private readonly args: StartBuildArgs;
  private readonly logger: Logger;
  private readonly nowS: () => number;
  private readonly masker = new SecretMasker();
  private readonly startedAt: number;
  private results: ResultCode = SUCCESS;
  /** Words of the state string while building (Buildbot's build.text). */
  private text: string[] = [];
  private stateString = 'created';
  private stopped = false;
  private stoppedReason: string | undefined;
  private terminate = false;
  private lost: string | undefined;
  private current: StepRunner | undefined;
  private preparing: AbortController | undefined;
  private done = false;
  private completeAt: number | null = null;
  private properties: Properties | undefined;
  private prep: PreparationStep | undefined;
  /** The build's steps so far: its master alone adds them, so it need not read them back. */
  private readonly knownSteps: KnownSteps = { count: 0, names: new Set() };
  private readonly stateText: DeferredText;
  /**
   * The properties as stored (a new build has none), so flushes write only what changed without
   * reading first; unknown (read again) after a failed write, whose effect is then uncertain.
   */
  private storedProperties: StoredProperties | undefined = new Map();
  /** Writes from the first step on wait out a DB outage instead of failing the build. */
  private readonly durable: DurableWrites;

  private constructor(deps: BuildDeps, args: StartBuildArgs, ids: { buildid: number; number: number }, startedAt: number) {
    this.deps = deps;
    this.args = args;
    this.buildid = ids.buildid;
    this.number = ids.number;
    this.startedAt = startedAt;
    this.nowS = deps.now ?? epochNow;
    this.logger = deps.logger.child({ component: 'build', buildid: ids.buildid, builder: args.builder.config.name, number: ids.number });
    this.durable = new DurableWrites(deps.db, this.logger);
    this.stateText = new DeferredText(
      (text) => setBuildStateString(deps.db, ids.buildid, text),
      // An outage is reported once by the tracker; the build's final row carries the text anyway.
      (err) => dbAvailability(deps.db).noteFailure(err) || this.logger.warn({ event: 'build.stateWriteFailed', err: (err as Error).message }, 'could not store the build state string'),
    );
    this.finished = this.run();
  }

  /** Inserts the builds row (state `created`), publishes it, and runs the build in the background. */
  static async start(deps: BuildDeps, args: StartBuildArgs): Promise<Build> {
    if (args.requests.length === 0) throw new TypeError('a build needs at least one build request');
    const startedAt = (deps.now ?? epochNow)();
    const ids = await addBuild(deps.db, {
      builderid: args.builder.builderid,
      buildrequestid: args.requests[0].id,
      workerid: args.worker.workerid,
      masterid: deps.masterid,
      state_string: 'created',
      started_at: startedAt,
    });
    return new Build(deps, args, ids, startedAt);
  }

  /** Stop the build (Buildbot's stopBuild): the running step is interrupted, the rest skipped except alwaysRun. */
  stop(reason: string, results: number = CANCELLED): void {
    if (this.done) return;
    this.logger.info({ event: 'build.stop', reason, results }, 'stopping build');
    this.stoppedReason = reason;
    this.stopped = true;
    this.results = results as ResultCode;
    this.current?.interrupt(reason, results);
    this.preparing?.abort(reason);
  }

  /** The row as the REST API shows it. */
  private row(): Record<string, unknown> {
    return {
      buildid: this.buildid,
      number: this.number,
      builderid: this.args.builder.builderid,
      buildrequestid: this.args.requests[0].id,
      workerid: this.args.worker.workerid,
      masterid: this.deps.masterid,
      started_at: this.startedAt,
      complete: this.completeAt !== null,
      complete_at: this.completeAt,
      results: this.completeAt !== null ? this.results : null,
      state_string: this.stateString,
    };
  }

  /** Published now; stored lazily (DeferredText), and always with the build's final row. */
  private setState(text: string): void {
    this.stateString = this.masker.mask(text);
    this.stateText.set(this.stateString);
    this.deps.bus.publish(['builds', String(this.buildid), 'update'], this.row());
  }

  private async flushProperties(): Promise<void> {
    if (!this.properties) return;
    const { db } = this.deps;
    try {
      this.storedProperties ??= await readStoredProperties(db, this.buildid);
      await storeBuildProperties(db, this.buildid, this.properties.asDict(), this.storedProperties);
    } catch (err) {
      this.storedProperties = undefined;
      throw err;
    }
  }

  private async run(): Promise<{ results: number }> {
    const conn = this.args.worker.connection;
    const onDisconnect = ({ reason }: { reason: string }) => this.lostRemote(reason);
    this.deps.bus.publish(['builds', String(this.buildid), 'new'], this.row());
    try {
      const env = await this.prepare();
      if (env) {
        conn.on('disconnected', onDisconnect);
        // The connection may have dropped between the preparation and the subscription.
        if (!conn.isConnected()) this.lostRemote(conn.lostReason() ?? 'connection lost');
        await this.runSteps(env);
        await this.finish(buildFinalStateString(this.results, { stoppedReason: this.stoppedReason, stepSummaries: this.text }), this.results);
      }
    } catch (err) {
      this.logger.error({ event: 'build.exception', err: (err as Error).message, stack: (err as Error).stack }, 'build failed with an exception');
      await this.prep?.finishIfOpen(EXCEPTION, 'error while preparing the build');
      await this.finish('build exception', EXCEPTION).catch((e) =>
        this.logger.error({ event: 'build.finishFailed', err: (e as Error).message }, 'could not record the end of a build'),
      );
    } finally {
      conn.off('disconnected', onDisconnect);
      // However the build ended, it holds no lock past this point (a dead master's go in housekeeping).
      await releaseLocks(this.deps, { buildid: this.buildid, stepid: null }).catch((err) =>
        this.logger.error({ event: 'build.releaseLocksFailed', err: (err as Error).message }, 'could not release the build\'s locks'),
      );
    }
    return { results: this.results };
  }

  /** Properties, step 0 and the slave's builder directory; undefined when the build ended there. */
  private async prepare(): Promise<StepEnvironment | undefined> {
    const { db } = this.deps;
    const { builder, worker, requests } = this.args;
    const conn = worker.connection;
    const prep = new PreparationStep(this.deps, this.buildid, this.masker, this.nowS, this.knownSteps);
    this.prep = prep;
    await prep.add();

    const inputs = await loadRequestInputs(db, requests, this.deps.buildsets);
    const builddir = workerBuilddir(conn.platform, worker.config, builder.config);
    this.properties = buildProperties({ config: this.deps.config, builder: builder.config, worker: worker.config, buildnumber: this.number, inputs, builddir });
    await this.flushProperties();
    this.setState('starting');
    const renderContext: RenderContext = {
      properties: this.properties,
      sourcestamps: inputs.sourcestamps.map((ss) => ({ ...ss })),
      secrets: this.deps.secrets,
      worker: { ...worker.config.properties, workername: worker.config.name },
      onSecret: (name, value) => this.masker.add(name, value),
    };

    // Builder env ← worker env; each step's own env goes on top. A renderable that cannot be
    // rendered is the config's fault: EXCEPTION, not RETRY (which would retry it forever).
    let baseEnv: CommandEnv;
    try {
      baseEnv = { ...((await render(builder.config.env, renderContext)) as CommandEnv), ...worker.config.env };
    } catch (err) {
      await prep.fail('setupBuild', err instanceof Error ? err.message : String(err));
      await this.finish('Build.setupBuild failed', EXCEPTION);
      return undefined;
    }

    this.setState('preparing worker');
    let remoteEnv: Record<string, string> | undefined;
    this.preparing = new AbortController();
    try {
      if (this.stopped) throw new Error('stopped');
      if (!conn.isConnected()) throw new WorkerUnavailable(`worker ${worker.config.name} is not connected`);
      this.setState('pinging worker');
      remoteEnv = await abortable(prepareWorker(conn, builddir), this.preparing.signal);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (this.stopped) {
        await prep.finish(CANCELLED, 'worker_preparation (cancelled)');
        await this.finish('worker cancelled', this.results);
      } else {
        const pinging = !(err instanceof WorkerUnavailable);
        await prep.fail(pinging ? 'worker_ping' : 'worker_prepare', why);
        await this.finish(pinging ? 'worker not pinged' : 'worker not available', RETRY);
      }
      return undefined;
    } finally {
      this.preparing = undefined;
    }

    this.setState('acquiring locks');
    const locks = lockRequests(builder.config.locks, { workerid: worker.workerid, name: worker.config.name });
    this.preparing = new AbortController();
    try {
      const held = !this.stopped && (await acquireLocksWaiting(this.deps, { buildid: this.buildid, stepid: null, masterid: this.deps.masterid }, locks, { signal: this.preparing.signal }));
      if (!held) {
        await prep.finish(CANCELLED, 'worker_preparation (cancelled)');
        await this.finish(buildFinalStateString(this.results, { stoppedReason: this.stoppedReason }), this.results);
        return undefined;
      }
    } finally {
      this.preparing = undefined;
    }
    await prep.finish(SUCCESS, `worker ${worker.config.name} ready`);
    this.setState('building');
    return {
      db,
      bus: this.deps.bus,
      logger: this.logger,
      logSink: dbLogSink(db, this.durable),
      durable: this.durable,
      masker: this.masker,
      renderContext,
      properties: this.properties,
      sourcestamps: inputs.sourcestamps,
      conn,
      platform: conn.platform,
      builddir,
      baseEnv,
      remoteEnv,
      masterBasedir: this.deps.basedir,
      buildid: this.buildid,
      buildNumber: this.number,
      builderName: builder.config.name,
      workerName: worker.config.name,
      nowS: this.nowS,
      knownSteps: this.knownSteps,
      locks: { masterid: this.deps.masterid, workerid: worker.workerid },
    };
  }

  private async runSteps(env: StepEnvironment): Promise<void> {
    for (const step of this.args.builder.config.steps) {
      if (this.lost !== undefined) break; // Buildbot: no connection, no next step
      if ((this.terminate || this.stopped) && !step.alwaysRun) continue;
      const runner = new StepRunner(env, step);
      this.current = runner;
      let r;
      try {
        r = await runner.run();
      } finally {
        this.current = undefined;
      }
      await this.durable.run('build properties', () => this.flushProperties());
      if (r.buildSummary) {
        this.text.push(r.buildSummary);
        this.setState(this.text.join(' '));
      }
      const merged = mergeStepResult(this.results, r.results, step);
      this.results = merged.results;
      if (merged.terminate) this.terminate = true;
      if (this.lost !== undefined) {
        this.results = RETRY;
        this.terminate = true;
      }
    }
  }

  /** Buildbot's lostRemote: the build will end RETRY, the running step too. */
  private lostRemote(reason: string): void {
    if (this.done || this.lost !== undefined) return;
    this.logger.warn({ event: 'build.connectionLost', reason }, 'lost the connection to the worker');
    this.lost = reason;
    this.text = ['lost', 'connection'];
    this.results = RETRY;
    this.current?.connectionLost(reason);
  }

  /** Buildbot's buildFinished, plus what happens to the requests and buildsets. */
  private async finish(text: string, results: number): Promise<void> {
    if (this.done) return;
    this.done = true;
    const { db, bus, masterid } = this.deps;
    this.results = (worstStatus(this.results, results) ?? this.results) as ResultCode;
    const durable = this.durable;
    await durable.run('build properties', () => this.flushProperties()).catch((err) => this.logger.warn({ event: 'build.propertiesFailed', err: (err as Error).message }, 'could not store properties'));
    this.stateString = this.masker.mask(text);
    await this.stateText.settle();
    const completeAt = this.nowS();
    const end = { results: this.results, completeAt, stateString: this.stateString };
    // Fenced: false when housekeeping ended it first (another master declared this one dead, or a
    // stop gave up waiting for it): that end stands (lostBuild).
    if (!(await durable.run('the build end', () => completeBuild(db, this.buildid, end)))) {
      return this.lostBuild('housekeeping had already ended it (this master was declared dead, or stopped without it)');
    }
    this.completeAt = completeAt;

    const brids = this.args.requests.map((r) => r.id);
    if (this.results === RETRY) {
      this.announceFinished();
      // Run them again, later, on whichever master claims them.
      await durable.run('the claim release', () => unclaimRequests(db, brids, masterid));
      for (const brid of brids) await durable.run('a request event', () => publishRequest(db, bus, brid, 'unclaimed'));
      return;
    }
    const final = this.results;
    const completed = await durable.run('the request ends', () => completeRequests(db, brids, final, completeAt, masterid), {
      // The guarded UPDATE may have landed before the connection dropped: then it matches nothing now.
      recover: async () => {
        const done = (await getRequests(db, brids)).filter((r) => Number(r.complete) === 1 && Number(r.complete_at) === completeAt && Number(r.claimed_by_masterid) === masterid);
        return done.length > 0 ? done.map((r) => Number(r.id)) : undefined;
      },
    });
    // None completed: our claims are gone (released by a master that declared this one dead).
    if (completed.length === 0 && brids.length > 0 && (await this.claimsLost(end))) return;
    this.announceFinished();
    for (const brid of completed) {
      // completeRequests wrote these columns, and only on requests whose claim we hold.
      const row = this.args.requests.find((r) => r.id === brid);
      if (row && 'claimed_at' in row) publishRequestRow(bus, { ...row, complete: 1, results: final, complete_at: completeAt, claimed_by_masterid: masterid }, 'complete');
      else await durable.run('a request event', () => publishRequest(db, bus, brid, 'complete'));
    }
    const bsids = new Set(this.args.requests.filter((r) => completed.includes(r.id)).map((r) => r.buildsetid));
    const cache = this.deps.buildsets;
    for (const bsid of bsids) {
      const done = await durable.run('the buildset end', () => maybeCompleteBuildset(db, bsid, completeAt));
      if (!done.completed) continue;
      if (cache) {
        publishBuildsetFacts(bus, bsid, await cache.get(bsid), 'complete', { complete: 1, complete_at: completeAt, results: done.results ?? null });
        cache.forget(bsid);
      } else await publishBuildset(db, bus, bsid, 'complete');
    }
  }

  private announceFinished(): void {
    this.deps.bus.publish(['builds', String(this.buildid), 'finished'], this.row());
    this.logger.info({ event: 'build.finished', results: this.results, state: this.stateString }, 'build finished');
  }

  /**
   * The build's end was written by someone else (RETRY, by the housekeeping of the master that
   * declared this one dead, which also released its requests: they run again elsewhere). The
   * stored end stands; the build publishes it, and leaves its requests alone.
   */
  private async lostBuild(why: string): Promise<void> {
    const row = await this.durable.run('the build row', () => getBuild(this.deps.db, this.buildid));
    if (row) {
      this.results = Number(row.results) as ResultCode;
      this.stateString = row.state_string;
      this.completeAt = Number(row.complete_at);
    }
    this.deps.bus.publish(['builds', String(this.buildid), 'finished'], this.row());
    this.logger.warn(
      { event: 'build.lost', why, results: this.results, state: this.stateString },
      `build lost: ${why}; it stays ended ${this.stateString}, and its requests are not completed here`,
    );
  }

  /**
   * completeRequests completed none of the build's requests. When this master holds none of their
   * claims any more (they were released, and may already be building elsewhere), the build gives
   * up the end it won: it is stored RETRY, as the housekeeping would have, so the request's only
   * successful build is the other one. True when that is the case.
   */
  private async claimsLost(end: BuildEnd): Promise<boolean> {
    const { db, masterid } = this.deps;
    const brids = this.args.requests.map((r) => r.id);
    const rows = await this.durable.run('the request claims', () => getRequests(db, brids));
    if (rows.some((r) => Number(r.claimed_by_masterid) === masterid)) return false;
    const retry = { results: RETRY, stateString: 'interrupted: this master lost its claim on the request' };
    if (await this.durable.run('the build end', () => reviseBuildEnd(db, this.buildid, end, retry))) {
      this.results = RETRY;
      this.stateString = retry.stateString;
      this.announceFinished();
      this.logger.warn({ event: 'build.claimLost', requests: brids, claimedBy: rows.map((r) => r.claimed_by_masterid) }, 'build ended, but its requests\' claims were gone (this master was considered dead): stored RETRY, the requests run again elsewhere');
    } else {
      await this.lostBuild('its end was rewritten after its claims were released');
    }
    return true;
  }
}

/** Rejects as soon as `signal` aborts (the promise itself keeps running to its end). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error(String(signal.reason)));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(String(signal.reason)));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export type { BuildSourceStamp };
