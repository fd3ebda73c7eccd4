/**
 * Runs one step of a build, as Buildbot's BuildStep.startStep: add the step row, render its
 * options (secrets recorded for masking), doStepIf, run the implementation, map what ended it to a
 * result (StepAbort's result, else EXCEPTION with an `err.text` log), hideStepIf, finish its logs,
 * write its summary and finish the row. Never throws for the step's own failures; a DB error
 * propagates (the build ends EXCEPTION).
 */
import type { ResolvedStep } from '../config/resolved.js';
import type { Database } from '../db/connection.js';
import { dbAvailability } from '../db/outage.js';
import { addLog, getLogs } from '../db/logs.js';
import { addStep, addStepUrl, completeStep, getSteps, setStepStateString, type KnownSteps } from '../db/steps.js';
import { LogWriter, type LogSink, type LogType } from '../logs/logWriter.js';
import type { MessageBus } from '../master/bus.js';
import { isStepAbort, StepAbort } from '../steps/stepAbort.js';
import { stepDefinition } from '../steps/registry.js';
import { joinList } from '../steps/summaries.js';
import type { BuildSourceStamp, StepContext, StepDefinition, StepOutcome } from '../steps/types.js';
import type { Logger } from '../util/log.js';
import type { Platform } from '../workers/platforms/platform.js';
import type { SshConnection } from '../workers/sshConnection.js';
import type { CommandEnv } from '../workers/types.js';
import type { Properties, PropertyValue } from './properties.js';
import { render, type RenderContext } from './render.js';
import { buildSummaryPolicy, CANCELLED, EXCEPTION, resultName, RETRY, SKIPPED, SUCCESS, type ResultCode } from './results.js';
import { DeferredText } from './deferredText.js';
import { DurableWrites } from './durableWrites.js';
import { acquireLocksWaiting, lockRequests, releaseLocks } from './locks.js';
import type { SecretMasker } from './secretMasker.js';

/** What the build lends each step. */
export interface StepEnvironment {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  logSink: LogSink;
  masker: SecretMasker;
  renderContext: RenderContext;
  properties: Properties;
  sourcestamps: readonly BuildSourceStamp[];
  conn: SshConnection;
  platform: Platform;
  builddir: string;
  baseEnv: CommandEnv;
  remoteEnv: Record<string, string> | undefined;
  masterBasedir: string;
  buildid: number;
  buildNumber: number;
  builderName: string;
  workerName: string;
  /** Epoch seconds, for DB columns. */
  nowS: () => number;
  /** The build's steps so far, which its steps' INSERTs keep up to date (see addStep). */
  knownSteps?: KnownSteps;
  /** Who takes the step's locks (without it, a step's `locks` are not taken). */
  locks?: { masterid: number; workerid: number };
  /** The build's writes that outlast a DB outage (default: one of the step's own). */
  durable?: DurableWrites;
}

/** How the build interrupts the running step. */
export interface StepControl {
  /**
   * Stop the step (the build was stopped): aborts its remote command and logs `cancelled`. The
   * step ends CANCELLED, or RETRY when the build is stopped with RETRY (a master shutting down
   * wants the request to run again; in Buildbot the step's CANCELLED would win).
   */
  interrupt(reason: string, results?: number): void;
  /** The connection was lost: the step ends RETRY whatever its command said. */
  connectionLost(reason: string): void;
}

export interface StepResult {
  results: ResultCode;
  /** The summary to add to the build's state string (Buildbot's summary['build']), if any. */
  buildSummary?: string;
}

/** What doStepIf / hideStepIf receive (Buildbot passes the step object; these are the parts used). */
export interface StepHandle {
  readonly name: string;
  readonly stepid: number;
  readonly results: number | undefined;
  readonly workername: string;
  readonly build: { readonly buildid: number; readonly number: number; getProperty(name: string, dflt?: unknown): unknown; getProperties(): Properties };
  getProperty(name: string, dflt?: unknown): unknown;
  hasProperty(name: string): boolean;
  setProperty(name: string, value: PropertyValue, source?: string): void;
  getProperties(): Properties;
}

function descText(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return joinList(v) || undefined;
  return undefined;
}

function withSuffix(text: string, step: ResolvedStep): string {
  const suffix = descText(step.descriptionSuffix);
  return suffix ? `${text} ${suffix}` : text;
}

/** Buildbot's getCurrentSummary. */
function currentSummary(step: ResolvedStep): string {
  const d = descText(step.description);
  return d ? withSuffix(d, step) : 'running';
}

/** Buildbot's getResultSummary (ShellMixin's and the transfer steps' defaults included). */
function resultSummary(def: StepDefinition | undefined, step: ResolvedStep, outcome: StepOutcome | undefined, results: number): string {
  let s: string | undefined = outcome?.summary;
  if (!s && descText(step.descriptionDone)) s = withSuffix(descText(step.descriptionDone)!, step);
  if (!s) {
    try {
      s = def?.defaultDoneSummary?.(step as never);
    } catch {
      s = undefined;
    }
  }
  if (!s && outcome?.fallbackSummary && !descText(step.description)) s = withSuffix(outcome.fallbackSummary, step);
  if (!s && descText(step.description)) s = withSuffix(descText(step.description)!, step);
  s ??= 'finished';
  return results === SUCCESS ? s : `${s} (${resultName(results)})`;
}

function stepRow(stepid: number, number: number, name: string, buildid: number, extra: Record<string, unknown>): Record<string, unknown> {
  return { stepid, number, name, buildid, ...extra };
}

export class StepRunner implements StepControl {
  private readonly controller = new AbortController();
  private lost: string | undefined;
  private stopped: string | undefined;
  private stopResults: number = CANCELLED;
  private readonly logs: LogWriter[] = [];
  private stepid = -1;
  private number = -1;
  private name = '';
  private startedAt: number | null = null;
  private stateString = 'pending';
  private readonly urls: { name: string; url: string }[] = [];
  private results: number | undefined;
  private cancelLog: Promise<void> | undefined;
  private stateText: DeferredText | undefined;
  /** Waiting for the step's locks (Buildbot's _waitingForLocks). */
  private waitingForLocks = false;
  private readonly durable: DurableWrites;

  constructor(
    private readonly env: StepEnvironment,
    private readonly step: ResolvedStep,
  ) {
    this.durable = env.durable ?? new DurableWrites(env.db, env.logger);
  }

  interrupt(reason: string, results: number = CANCELLED): void {
    if (this.stopped !== undefined || this.lost !== undefined) return;
    this.stopped = reason;
    this.stopResults = results;
    if (this.stepid >= 0) this.logCancelled();
    this.controller.abort(reason);
  }

  /** Buildbot's `cancelled` log, holding the reason the build was stopped. */
  private logCancelled(): void {
    this.cancelLog = this.addCompleteLog(this.waitingForLocks ? 'cancelled while waiting for locks' : 'cancelled', this.stopped ?? '').catch((err) =>
      this.env.logger.warn({ event: 'step.logFailed', err: (err as Error).message }, 'could not write the cancelled log'),
    );
  }

  connectionLost(reason: string): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    // The remote command ends by itself when its channel closes; abort anything that would not.
    setTimeout(() => this.controller.abort(`lost connection to worker ${this.env.workerName}`), 2000).unref();
  }

  private publish(event: 'new' | 'started' | 'updated' | 'finished', extra: Record<string, unknown> = {}): void {
    this.env.bus.publish(
      ['steps', String(this.stepid), event],
      stepRow(this.stepid, this.number, this.name, this.env.buildid, {
        started_at: this.startedAt,
        complete: event === 'finished',
        complete_at: null,
        state_string: this.stateString,
        results: this.results ?? null,
        urls: [...this.urls],
        hidden: false,
        ...extra,
      }),
    );
  }

  /** Published now; stored lazily (DeferredText), and always with the step's final row. */
  private async setState(text: string): Promise<void> {
    this.stateString = this.env.masker.mask(text);
    this.stateText?.set(this.stateString);
    this.publish('updated');
  }

  async addLog(name: string, type: LogType = 's'): Promise<LogWriter> {
    const db = this.env.db;
    const stepid = this.stepid;
    const { logid, slug } = await this.durable.run('a log', () => addLog(db, stepid, name, type), {
      // Only this step adds its logs: a row of this name we do not know is the INSERT that landed.
      recover: async () => {
        const known = new Set(this.logs.map((l) => l.logid));
        const row = (await getLogs(db, stepid)).find((l) => l.name === name && !known.has(Number(l.id)));
        return row ? { logid: Number(row.id), slug: row.slug } : undefined;
      },
    });
    const log = new LogWriter({
      sink: this.env.logSink,
      bus: this.env.bus,
      logid,
      name,
      type,
      slug,
      stepid: this.stepid,
      masker: this.env.masker,
      logger: this.env.logger,
    });
    this.logs.push(log);
    this.env.bus.publish(['logs', String(logid), 'new'], log.row(false));
    return log;
  }

  async addCompleteLog(name: string, text: string): Promise<void> {
    const log = await this.addLog(name, 't');
    log.addText(text);
    await log.finish();
  }

  private handle(): StepHandle {
    const props = this.env.properties;
    const self = this;
    return {
      name: this.name,
      stepid: this.stepid,
      get results() {
        return self.results;
      },
      workername: this.env.workerName,
      build: {
        buildid: this.env.buildid,
        number: this.env.buildNumber,
        getProperty: (n, d) => props.getProperty(n, d),
        getProperties: () => props,
      },
      getProperty: (n, d) => props.getProperty(n, d),
      hasProperty: (n) => props.hasProperty(n),
      setProperty: (n, v, source = 'Unknown') => props.setProperty(n, v, source, { runtime: true }),
      getProperties: () => props,
    };
  }

  private context(workdir: string): StepContext {
    const env = this.env;
    const { name, stepid } = this;
    let stepLogger: Logger | undefined;
    return {
      buildid: env.buildid,
      buildNumber: env.buildNumber,
      builderName: env.builderName,
      workerName: env.workerName,
      stepid: this.stepid,
      stepName: this.name,
      conn: env.conn,
      platform: env.platform,
      builddir: env.builddir,
      workdir,
      masterBasedir: env.masterBasedir,
      properties: env.properties,
      sourcestamps: env.sourcestamps,
      baseEnv: env.baseEnv,
      remoteEnv: env.remoteEnv,
      signal: this.controller.signal,
      // Made on first use: most steps never log, and a pino child costs a few µs.
      get logger() {
        return (stepLogger ??= env.logger.child({ step: name, stepid }));
      },
      setProperty: (name, value, source) => env.properties.setProperty(name, value, source, { runtime: true }),
      addLog: (name, type) => this.addLog(name, type),
      addCompleteLog: (name, text) => this.addCompleteLog(name, text),
      addURL: async (name, url) => {
        await addStepUrl(env.db, this.stepid, name, url);
        this.urls.push({ name, url });
        this.publish('updated');
      },
      setStateString: (text) => this.setState(text),
      mask: (text) => env.masker.mask(text),
    };
  }

  private workdirOf(step: ResolvedStep): string {
    const p = this.env.platform;
    const w = typeof step.workdir === 'string' && step.workdir !== '' ? step.workdir : 'build';
    return p.isAbsolute(w) ? w : p.joinPath(this.env.builddir, w);
  }

  /** Runs the step; whatever locks it took are released however it ends. */
  async run(): Promise<StepResult> {
    const locks = this.env.locks ? lockRequests(this.step.locks, { workerid: this.env.locks.workerid, name: this.env.workerName }) : [];
    try {
      return await this.runStep(locks);
    } finally {
      if (locks.length > 0 && this.stepid >= 0) await this.releaseStepLocks();
    }
  }

  private releaseStepLocks(): Promise<unknown> {
    return releaseLocks(this.env, { buildid: this.env.buildid, stepid: this.stepid }).catch((err) =>
      this.env.logger.error({ event: 'step.releaseLocksFailed', stepid: this.stepid, err: (err as Error).message }, 'could not release a step\'s locks'),
    );
  }

  /**
   * Buildbot's BuildStep.acquireLocks, after the step row exists: all of them or none, waiting
   * ('waiting for locks') while another build holds them. False when the step was stopped first.
   */
  private async acquireStepLocks(locks: ReturnType<typeof lockRequests>): Promise<boolean> {
    if (locks.length === 0) return true;
    if (this.stopped !== undefined) return false;
    const holder = { buildid: this.env.buildid, stepid: this.stepid, masterid: this.env.locks!.masterid };
    try {
      return await acquireLocksWaiting(this.env, holder, locks, {
        signal: this.controller.signal,
        onWaiting: () => {
          this.waitingForLocks = true;
          void this.setState('waiting for locks');
        },
      });
    } finally {
      this.waitingForLocks = false;
    }
  }

  private async runStep(locks: ReturnType<typeof lockRequests>): Promise<StepResult> {
    const env = this.env;
    let def: StepDefinition | undefined;
    let rendered: ResolvedStep = this.step;
    let outcome: StepOutcome | undefined;
    let results: ResultCode;

    let name: string;
    try {
      name = env.masker.mask(String(await render(this.step.name, env.renderContext)));
    } catch {
      name = this.step.kind.toLowerCase();
    }
    const startedAt = env.nowS();
    ({ stepid: this.stepid, number: this.number, name: this.name } = await this.durable.run(
      'a step',
      () => addStep(env.db, env.buildid, name, undefined, { startedAt, known: env.knownSteps }),
      { recover: () => this.recoverStep(startedAt) },
    ));
    const stepid = this.stepid;
    this.stateText = new DeferredText(
      (text) => setStepStateString(env.db, stepid, text),
      (err) => dbAvailability(env.db).noteFailure(err) || env.logger.warn({ event: 'step.stateWriteFailed', stepid, err: (err as Error).message }, 'could not store a step state string'),
    );
    this.publish('new');
    this.startedAt = startedAt;
    this.publish('started');
    if (this.stopped !== undefined) this.logCancelled();

    try {
      def = stepDefinition(this.step.kind);
      if (!(await this.acquireStepLocks(locks))) throw StepAbort.cancelled('cancelled while waiting for locks');
      rendered = (await render(this.step, env.renderContext)) as ResolvedStep;
      await this.setState(currentSummary(rendered));
      const doStep = typeof rendered.doStepIf === 'function' ? await rendered.doStepIf(this.handle()) : rendered.doStepIf !== false;
      if (this.stopped !== undefined) results = CANCELLED;
      else if (doStep) {
        outcome = await def.run(this.context(this.workdirOf(rendered)), rendered as never);
        results = outcome.results;
      } else results = SKIPPED;
    } catch (err) {
      if (isStepAbort(err)) results = err.results;
      else {
        results = EXCEPTION;
        env.logger.warn({ event: 'step.exception', step: this.name, err: (err as Error).message }, 'step raised an exception');
        await this.addCompleteLog('err.text', errorText(err));
      }
    }

    // As Buildbot: a lost connection makes the step RETRY; a stopped step is CANCELLED or EXCEPTION.
    if (this.lost !== undefined) results = RETRY;
    else if (this.stopped !== undefined && this.stopResults === RETRY) results = RETRY;
    else if (this.stopped !== undefined && results !== RETRY && results !== CANCELLED) results = EXCEPTION;
    this.results = results;

    let hidden = false;
    try {
      const h = rendered.hideStepIf;
      hidden = typeof h === 'function' ? Boolean(await h(results, this.handle())) : Boolean(h);
    } catch (err) {
      await this.addCompleteLog('err.text', errorText(err));
      this.results = results = EXCEPTION;
      hidden = false;
    }

    // Released before the step's bookkeeping, as Buildbot does, so the next holder starts sooner.
    if (locks.length > 0) await this.releaseStepLocks();
    await this.cancelLog;
    await Promise.all(this.logs.map((l) => l.finish()));
    const summary = env.masker.mask(resultSummary(def, rendered, outcome, results));
    this.stateString = summary;
    this.publish('updated');
    await this.stateText?.settle();
    const completeAt = env.nowS();
    await this.durable.run('a step end', () => completeStep(env.db, this.stepid, { results, completeAt, hidden, stateString: summary }));
    this.publish('finished', { complete_at: completeAt, hidden });

    const policy = buildSummaryPolicy(rendered);
    return { results, buildSummary: policy.includes(results) ? summary : undefined };
  }

  /**
   * After a lost connection, whether our step INSERT landed: only this build adds its steps, so a
   * step past the ones it knows, started when ours was, is ours (added to knownSteps as addStep would).
   */
  private async recoverStep(startedAt: number): Promise<{ stepid: number; number: number; name: string } | undefined> {
    const known = this.env.knownSteps;
    if (!known) return undefined;
    const row = (await getSteps(this.env.db, this.env.buildid)).find((s) => Number(s.number) >= known.count && Number(s.started_at) === startedAt);
    if (!row) return undefined;
    known.count = Math.max(known.count, Number(row.number) + 1);
    known.names.add(row.name);
    return { stepid: Number(row.id), number: Number(row.number), name: row.name };
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
