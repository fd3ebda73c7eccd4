/**
 * Step 0 of every build, `worker_preparation` (Buildbot's preparation_step): a step row that runs
 * no implementation. It finishes SUCCESS "worker W ready", CANCELLED when the build is stopped
 * first, or EXCEPTION "error while worker_ping" with an `err.text` log saying why.
 */
import type { Database } from '../db/connection.js';
import { addLog } from '../db/logs.js';
import { addStep, completeStep, type KnownSteps } from '../db/steps.js';
import { LogWriter } from '../logs/logWriter.js';
import type { MessageBus } from '../master/bus.js';
import { dbLogSink } from './dbLogSink.js';
import { EXCEPTION } from './results.js';
import type { SecretMasker } from './secretMasker.js';

export class PreparationStep {
  private stepid = -1;
  private number = 0;
  private startedAt: number | null = null;
  private done = false;

  constructor(
    private readonly deps: { db: Database; bus: MessageBus },
    private readonly buildid: number,
    private readonly masker: SecretMasker,
    private readonly nowS: () => number,
    /** The build's steps so far (none yet: this is step 0). */
    private readonly known?: KnownSteps,
  ) {}

  private publish(event: string, extra: Record<string, unknown>): void {
    this.deps.bus.publish(['steps', String(this.stepid), event], {
      stepid: this.stepid,
      number: this.number,
      name: 'worker_preparation',
      buildid: this.buildid,
      started_at: this.startedAt,
      complete: false,
      complete_at: null,
      results: null,
      urls: [],
      hidden: false,
      ...extra,
    });
  }

  /** Adds the step row, already started (one INSERT). */
  async add(): Promise<void> {
    const startedAt = this.nowS();
    ({ stepid: this.stepid, number: this.number } = await addStep(this.deps.db, this.buildid, 'worker_preparation', undefined, { startedAt, known: this.known }));
    this.publish('new', { state_string: 'pending' });
    this.startedAt = startedAt;
    this.publish('started', { state_string: 'pending' });
  }

  async finish(results: number, text: string): Promise<void> {
    this.done = true;
    const state = this.masker.mask(text);
    const completeAt = this.nowS();
    await completeStep(this.deps.db, this.stepid, { results, completeAt, hidden: false, stateString: state });
    this.publish('finished', { state_string: state, complete: true, complete_at: completeAt, results });
  }

  /** After an unexpected error: leave no step 0 unfinished. Never throws. */
  async finishIfOpen(results: number, text: string): Promise<void> {
    if (this.done || this.stepid < 0) return;
    await this.finish(results, text).catch(() => undefined);
  }

  /** Buildbot's buildPreparationFailure. */
  async fail(what: string, why: string): Promise<void> {
    const { db, bus } = this.deps;
    const { logid, slug } = await addLog(db, this.stepid, 'err.text', 't');
    const log = new LogWriter({ sink: dbLogSink(db), bus, logid, name: 'err.text', type: 't', slug, stepid: this.stepid, masker: this.masker });
    bus.publish(['logs', String(logid), 'new'], log.row(false));
    log.addText(`${why}\n`);
    await log.finish();
    await this.finish(EXCEPTION, `error while ${what}`);
  }
}
