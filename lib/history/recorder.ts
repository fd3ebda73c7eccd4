import type { Database } from '../db/connection.js';
import { IdQueue } from './idQueue.js';
import type { MessageBus } from '../master/bus.js';
import type { Logger } from '../util/log.js';
import type { RegressionAlert } from './alerts.js';
import { recordFinishedBuild } from './buildHistory.js';
import { syncConfiguredKnownIssues, type KnownIssueSpec } from './knownIssues.js';
import { REGRESSION_DEFAULTS, type RegressionOptions } from './regression.js';

/** The part of the resolved config (config.history) the recorder uses. */
export interface HistoryRecorderConfig {
  knownIssues: readonly KnownIssueSpec[];
  regression: RegressionOptions;
}

export interface HistoryRecorderOptions {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  config: HistoryRecorderConfig;
  /** Builds waiting beyond this many are dropped (default 1000). */
  maxQueue?: number;
}

/**
 * BuildHistoryRecorder: when a build finishes, record its durations for trends and run the
 * regression checks (buildHistory.ts), off the build's path: the bus listener only queues the
 * build id, and one build at a time is recorded in the background. New alerts are published as
 * ['regressionAlerts', id, 'new']. At start and reconfig it makes the config's known-issue rules
 * the active 'config' rules.
 */
export class BuildHistoryRecorder {
  private readonly queue: IdQueue;
  private unsubscribe: (() => void) | undefined;
  private readonly logger: Logger;
  private config: HistoryRecorderConfig;

  private constructor(private readonly opts: HistoryRecorderOptions) {
    this.logger = opts.logger.child({ component: 'history' });
    this.config = opts.config;
    this.queue = new IdQueue({
      max: opts.maxQueue ?? 1000,
      work: async (buildid) => {
        const { alerts } = await recordFinishedBuild(this.opts.db, buildid, { regression: { ...REGRESSION_DEFAULTS, ...this.config.regression } });
        for (const a of alerts) this.announce(a);
      },
      onDrop: (buildid, dropped) => this.logger.warn({ event: 'history.buildQueueFull', buildid, dropped }, 'history is behind: a finished build was not recorded'),
      onError: (buildid, err) => this.logger.error({ event: 'history.recordBuildFailed', buildid, err: (err as Error).message }, 'could not record a finished build for trends'),
    });
  }

  /** Syncs the configured known issues, then listens for finished builds. */
  static async start(opts: HistoryRecorderOptions): Promise<BuildHistoryRecorder> {
    const r = new BuildHistoryRecorder(opts);
    await syncConfiguredKnownIssues(opts.db, opts.config.knownIssues);
    r.unsubscribe = opts.bus.subscribe(['builds', '*', 'finished'], (key) => r.enqueue(Number(key[1])));
    return r;
  }

  /** A new config: its rules become the active config rules; later builds use its regression options. */
  async reconfig(config: HistoryRecorderConfig): Promise<void> {
    this.config = config;
    await syncConfiguredKnownIssues(this.opts.db, config.knownIssues);
  }

  enqueue(buildid: number): void {
    this.queue.push(buildid);
  }

  /** Resolves once every queued build is recorded. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops listening, drops what waits, lets the build in progress finish (up to timeoutMs). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.unsubscribe?.();
    await this.queue.stop(timeoutMs);
  }

  private announce(a: RegressionAlert): void {
    this.logger.info(
      { event: 'history.regression', alertid: a.id, builderid: a.builderid, step: a.stepName, buildid: a.buildid, percent: a.percent, t: a.t },
      `duration ${a.percent > 0 ? 'regression' : 'improvement'} of ${a.percent.toFixed(1)}% on builder ${a.builderid}${a.stepName ? ` step ${a.stepName}` : ''} at build ${a.buildid}`,
    );
    this.opts.bus.publish(['regressionAlerts', String(a.id), 'new'], a);
  }
}
