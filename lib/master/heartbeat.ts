/**
 * The master's heartbeat (Buildbot's masterActive + expireMasters loop, every
 * multiMaster.heartbeatInterval s): write last_active, then look for dead masters. The beat only
 * refreshes a master that is still active (heartbeatMaster): when another master has declared this
 * one dead — it was silent past deadMasterTimeout: a stalled event loop, a lost DB connection, a
 * suspended VM — the beat finds active = 0 and calls `onDeclaredDead` once, instead of quietly
 * reviving a master whose builds were already ended RETRY and whose requests may already run
 * elsewhere. From the expiry on, the fenced claim (claimRequests' onlyWhileActive) already stops it
 * claiming; `onDeclaredDead` stops its builds and rejoins.
 */
import type { Database } from '../db/connection.js';
import { heartbeatMaster } from '../db/masters.js';
import { dbAvailability } from '../db/outage.js';
import type { Logger } from '../util/log.js';

export interface HeartbeatDeps {
  db: Database;
  logger: Logger;
  masterid: number;
  /** Seconds between beats. */
  intervalSeconds: number;
  /** After each beat that found us alive, without holding up the next beat: the dead-master expiry pass. */
  afterBeat?: () => Promise<unknown>;
  /** Another master declared this one dead; the beat waits for this before beating again. */
  onDeclaredDead: () => Promise<void>;
  /** Epoch seconds (default: the clock). */
  now?: () => number;
}

export type BeatOutcome = 'alive' | 'declaredDead' | 'skipped';

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<BeatOutcome> | undefined;
  private readonly logger: Logger;

  constructor(private readonly deps: HeartbeatDeps) {
    this.logger = deps.logger.child({ component: 'heartbeat' });
  }

  start(): void {
    if (this.timer) return;
    const everyMs = Math.max(1, this.deps.intervalSeconds) * 1000;
    // Not unref'd: the heartbeat is what keeps a foreground master's process alive.
    this.timer = setInterval(() => void this.beat(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One beat; a beat still running (a slow DB, a rejoin in progress) makes this one a no-op. */
  beat(): Promise<BeatOutcome> {
    if (this.beating) return Promise.resolve('skipped');
    this.beating = this.once()
      .catch((err: unknown) => {
        // An outage is logged once by the tracker; the next beat after it tells whether another
        // master declared us dead meanwhile (active = 0: onDeclaredDead stops our builds RETRY).
        if (dbAvailability(this.deps.db).noteFailure(err)) return 'skipped' as const;
        this.logger.error({ event: 'master.heartbeatFailed', err: (err as Error)?.message ?? String(err) }, 'heartbeat failed');
        return 'skipped' as const;
      })
      .finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async once(): Promise<BeatOutcome> {
    const now = this.deps.now?.() ?? Math.floor(Date.now() / 1000);
    if (await heartbeatMaster(this.deps.db, this.deps.masterid, now)) {
      // Not awaited: housekeeping a dead master can take longer than a beat, and our own beats
      // must go on meanwhile, or we would look dead in turn. (MasterExpiry shares overlapping passes.)
      this.deps.afterBeat?.().catch((err: unknown) =>
        this.logger.error({ event: 'master.expiryFailed', err: (err as Error)?.message ?? String(err) }, 'dead-master expiry failed'),
      );
      return 'alive';
    }
    this.logger.error(
      { event: 'master.declaredDead', masterid: this.deps.masterid },
      'another master declared this master dead (no heartbeat within deadMasterTimeout): stopping its builds, then rejoining',
    );
    await this.deps.onDeclaredDead();
    return 'declaredDead';
  }
}
