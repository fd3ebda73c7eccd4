import type { WorkerConfig } from '../config/resolved.js';
import type { Database } from '../db/connection.js';
import { updateWorkerInfo, workerConnected, workerDisconnected, setWorkerState } from '../db/workers.js';
import type { Logger } from '../util/log.js';
import { knownHostsPath } from '../workers/knownHosts.js';
import { SshConnection } from '../workers/sshConnection.js';
import type { MessageBus } from './bus.js';
import type { SecretsLookup } from './secrets.js';
import { WorkerClaimer } from './workerClaimer.js';

/** Buildbot's quarantine: 10 s after a failure, doubling up to an hour (worker/base.py). */
export const QUARANTINE_INITIAL_S = 10;
export const QUARANTINE_MAX_S = 3600;

/** One configured worker as the master sees it: its connection and whether it may take a build. */
export interface ManagedWorker {
  readonly name: string;
  readonly workerid: number;
  /** Replaced in place by a reconfig that changes no connection setting. */
  config: WorkerConfig;
  readonly connection: SshConnection;
  paused: boolean;
  /** Epoch ms until which no build starts here, or undefined. */
  quarantinedUntil?: number;
  /** The next quarantine's length in seconds. */
  quarantineS: number;
  /** Builds running (or starting) here, of every builder; bounded by config.maxBuilds. */
  running: number;
  /** Builder ids with a build here: as in Buildbot, a builder runs one build per worker at a time. */
  busyBuilders: Map<number, number>;
  /** Counts connections made: a build that saw another generation lost its connection. */
  generation: number;
  /**
   * What is known of the host, stored as the workers row's `info` (Buildbot's workerinfo): how to
   * reach it, and its connection history — when it connected, when and why it was lost, when it was
   * last seen, the last failure to connect — so the UI can say why a machine is not building.
   */
  info: Record<string, unknown>;
  /**
   * Removed or reconnecting by a reconfig: takes no new build; once its running builds end, its
   * connection closes and `onRetired` runs (a changed worker then starts again with its new config).
   */
  retiring?: { onRetired: () => void; done?: boolean };
}

export interface WorkerManagerDeps {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  masterid: number;
  basedir: string;
  secrets: SecretsLookup;
  /** SSH reconnect delays (default 1 s … 60 s, the connection's own default). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How often unheld workers are claimed again (default WORKER_CLAIM_INTERVAL_MS, about 2 s). */
  workerClaimIntervalMs?: number;
}

/**
 * Owns one SshConnection per configured worker and the in-memory state the distributor asks about:
 * connected, paused, quarantined, builds running. Connects and disconnects are written to
 * connected_workers (and the worker's info) and published as `workers.<id>.connected|disconnected`.
 */
export class WorkerManager {
  private readonly workers = new Map<string, ManagedWorker>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Per worker, its DB writes in order: a quick disconnect/reconnect must not be written reversed. */
  private readonly writes = new Map<string, Promise<void>>();
  private readonly logger: Logger;
  private closing = false;
  /** A worker is connected only once this master holds it in the DB (one master per slave host). */
  private readonly claimer: WorkerClaimer;

  /** Called when a worker may have become able to take a build (connected, out of quarantine, unpaused). */
  onAvailable: (name: string) => void = () => {};

  constructor(private readonly deps: WorkerManagerDeps) {
    this.logger = deps.logger.child({ component: 'workers' });
    this.claimer = new WorkerClaimer({
      db: deps.db,
      logger: this.logger,
      masterid: deps.masterid,
      intervalMs: deps.workerClaimIntervalMs,
      isConfigured: (name) => this.workers.has(name),
      onWon: (name) =>
        this.workers.get(name)?.connection.connect().catch(() => {
          // Reported by the connection's own log and events; it keeps retrying with backoff.
        }),
      onLost: (name) => {
        const w = this.workers.get(name);
        // Close it once its builds end (they are stopped, the master having been declared dead), then wait for the claim again.
        if (w && !w.retiring && !this.closing) void this.retire(name, { config: w.config, workerid: w.workerid });
      },
    });
  }

  /** Creates the connections and starts connecting in the background; never waits for a host. */
  start(workers: { config: WorkerConfig; workerid: number }[]): void {
    for (const { config, workerid } of workers) {
      const prev = this.workers.get(config.name);
      if (prev?.retiring && !prev.retiring.done) {
        // Removed by one reconfig and back in the next while its builds still run: start once it is gone.
        const then = prev.retiring.onRetired;
        prev.retiring.onRetired = () => {
          then();
          if (!this.closing) this.start([{ config, workerid }]);
        };
        continue;
      }
      const connection = new SshConnection(config, {
        knownHostsFile: knownHostsPath(this.deps.basedir),
        masterDir: this.deps.basedir,
        logger: this.deps.logger,
        secrets: this.deps.secrets,
        ...(this.deps.backoff ? { backoff: this.deps.backoff } : {}),
      });
      const w: ManagedWorker = {
        name: config.name,
        workerid,
        config,
        connection,
        paused: false,
        quarantineS: QUARANTINE_INITIAL_S,
        running: 0,
        busyBuilders: new Map(),
        generation: 0,
        info: this.staticInfo(config),
      };
      this.workers.set(config.name, w);
      connection.on('connected', ({ fingerprint }) => {
        w.generation++;
        const now = epochSeconds();
        Object.assign(w.info, { host_key: fingerprint, connected_at: now, last_seen: now });
        const info = { ...w.info };
        this.write(w, async () => {
          await workerConnected(this.deps.db, workerid, this.deps.masterid);
          await updateWorkerInfo(this.deps.db, workerid, info);
        }, 'connected');
        this.onAvailable(w.name);
      });
      connection.on('disconnected', ({ reason }) => {
        w.generation++;
        const now = epochSeconds();
        Object.assign(w.info, { disconnected_at: now, disconnect_reason: reason, last_seen: now });
        const info = { ...w.info };
        this.write(w, async () => {
          await workerDisconnected(this.deps.db, workerid, this.deps.masterid);
          await updateWorkerInfo(this.deps.db, workerid, info);
        }, 'disconnected', reason);
      });
      // A host that cannot be reached (or shows an unknown key) is recorded, not just logged.
      connection.on('connectFailed', ({ error }) => this.noteConnectProblem(w, error.message));
      connection.on('hostKeyRejected', (error) => this.noteConnectProblem(w, error.message));
      this.claimer.add(config.name, workerid); // connects once claimed
    }
  }

  get(name: string): ManagedWorker | undefined {
    return this.workers.get(name);
  }

  all(): ManagedWorker[] {
    return [...this.workers.values()];
  }

  /** May this worker start a build of `builderid` now? */
  isAvailable(name: string, builderid: number, nowMs = Date.now()): boolean {
    const w = this.workers.get(name);
    if (!w || this.closing || w.retiring) return false;
    return (
      w.connection.isConnected() &&
      !w.paused &&
      !(w.quarantinedUntil !== undefined && w.quarantinedUntil > nowMs) &&
      w.running < w.config.maxBuilds &&
      !w.busyBuilders.has(builderid)
    );
  }

  /** Count a build as running here from the moment it is chosen, so no pass over-commits the worker. */
  reserve(name: string, builderid: number): void {
    const w = this.mustGet(name);
    w.running++;
    w.busyBuilders.set(builderid, (w.busyBuilders.get(builderid) ?? 0) + 1);
  }

  release(name: string, builderid: number): void {
    const w = this.mustGet(name);
    w.running = Math.max(0, w.running - 1);
    const n = (w.busyBuilders.get(builderid) ?? 1) - 1;
    if (n > 0) w.busyBuilders.set(builderid, n);
    else w.busyBuilders.delete(builderid);
    if (w.retiring && w.running === 0) void this.finishRetiring(w);
    else this.onAvailable(name);
  }

  /**
   * Reconfig: stop giving `name` builds; once its running builds have ended, close its connection,
   * record it disconnected and forget it; then `next` (its new settings) starts, if given. Resolves
   * when it is retired — at once when nothing runs there.
   */
  retire(name: string, next?: { config: WorkerConfig; workerid: number }): Promise<void> {
    const w = this.mustGet(name);
    return new Promise<void>((resolve) => {
      w.retiring = {
        onRetired: () => {
          if (next && !this.closing) this.start([next]);
          resolve();
        },
      };
      this.logger.info({ event: 'worker.retiring', worker: name, running: w.running, reconnect: !!next }, `worker ${name} ${next ? 'reconnects with its new settings' : 'is removed'}${w.running ? ` once its ${w.running} build(s) end` : ''}`);
      if (w.running === 0) void this.finishRetiring(w);
    });
  }

  private async finishRetiring(w: ManagedWorker): Promise<void> {
    if (!w.retiring || w.retiring.done) return;
    w.retiring.done = true;
    if (this.workers.get(w.name) === w) this.workers.delete(w.name);
    const wasConnected = w.connection.isConnected();
    await w.connection.close().catch(() => undefined);
    if (wasConnected) this.write(w, () => workerDisconnected(this.deps.db, w.workerid, this.deps.masterid), 'disconnected', 'reconfig');
    await this.writes.get(w.name);
    w.retiring?.onRetired();
  }

  /** Buildbot's putInQuarantine: no builds here for a while, each time twice as long (up to an hour). */
  quarantine(name: string, why: string): void {
    const w = this.mustGet(name);
    if (w.quarantinedUntil !== undefined && w.quarantinedUntil > Date.now()) return;
    const seconds = w.quarantineS;
    w.quarantinedUntil = Date.now() + seconds * 1000;
    w.quarantineS = Math.min(QUARANTINE_MAX_S, seconds * 2);
    this.logger.warn({ event: 'worker.quarantined', worker: name, seconds, why }, `worker ${name} quarantined for ${seconds} s: ${why}`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      w.quarantinedUntil = undefined;
      this.logger.info({ event: 'worker.quarantineEnded', worker: name }, `worker ${name} left quarantine`);
      this.onAvailable(name);
    }, seconds * 1000);
    timer.unref();
    this.timers.add(timer);
  }

  /** A build ended normally: the worker looks sane again (Buildbot's resetQuarantine). */
  resetQuarantine(name: string): void {
    const w = this.workers.get(name);
    if (w) w.quarantineS = QUARANTINE_INITIAL_S;
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    const w = this.mustGet(name);
    w.paused = paused;
    if (!paused) {
      w.quarantinedUntil = undefined;
      w.quarantineS = QUARANTINE_INITIAL_S;
    }
    await setWorkerState(this.deps.db, w.workerid, { paused });
    this.deps.bus.publish(['workers', String(w.workerid), 'state_updated'], { workerid: w.workerid, name, paused, graceful: false });
    if (!paused) this.onAvailable(name);
  }

  /** Closes every connection and waits for the disconnects to be written. */
  async stop(): Promise<void> {
    this.closing = true;
    await this.claimer.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(
      this.all().map(async (w) => {
        const wasConnected = w.connection.isConnected();
        await w.connection.close();
        // close() does not emit 'disconnected' (no reconnect follows), so write it here.
        if (wasConnected) this.write(w, () => workerDisconnected(this.deps.db, w.workerid, this.deps.masterid), 'disconnected');
        w.retiring?.onRetired(); // closing: nothing starts again
      }),
    );
    await Promise.all(this.writes.values());
    // Connections closed: another master may drive these hosts now.
    await this.claimer.releaseAll().catch((err: Error) => this.logger.error({ event: 'worker.releaseClaimsFailed', err: err.message }, 'could not release the worker claims'));
  }

  private mustGet(name: string): ManagedWorker {
    const w = this.workers.get(name);
    if (!w) throw new Error(`unknown worker ${name}`);
    return w;
  }

  private staticInfo(c: WorkerConfig): Record<string, unknown> {
    return {
      host: c.host,
      access_uri: `ssh://${c.user}@${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`,
      basedir: c.basedir,
      platform: c.platform,
      shell: c.shell,
    };
  }

  /** Records the latest failure to connect, once per distinct message (retries repeat it). */
  private noteConnectProblem(w: ManagedWorker, message: string): void {
    if (w.info.last_error === message) return;
    Object.assign(w.info, { last_error: message, last_error_at: epochSeconds() });
    const info = { ...w.info };
    const prev = this.writes.get(w.name) ?? Promise.resolve();
    const next = prev.then(() =>
      updateWorkerInfo(this.deps.db, w.workerid, info).catch((err: Error) =>
        this.logger.error({ event: 'worker.dbWriteFailed', worker: w.name, what: 'info', err: err.message }, `could not record worker ${w.name}'s state`),
      ),
    );
    this.writes.set(w.name, next);
  }

  private write(w: ManagedWorker, fn: () => Promise<void>, event: 'connected' | 'disconnected', reason?: string): void {
    const prev = this.writes.get(w.name) ?? Promise.resolve();
    const next = prev.then(async () => {
      try {
        await fn();
        this.deps.bus.publish(['workers', String(w.workerid), event], {
          workerid: w.workerid,
          name: w.name,
          masterid: this.deps.masterid,
          connected: event === 'connected',
          ...(reason ? { reason } : {}),
        });
      } catch (err) {
        this.logger.error({ event: 'worker.dbWriteFailed', worker: w.name, what: event, err: (err as Error).message }, `could not record that worker ${w.name} ${event}`);
      }
    });
    this.writes.set(w.name, next);
  }
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
