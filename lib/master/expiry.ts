/**
 * Dead-master expiry (Buildbot's expireMasters), run by every live master after each heartbeat: a
 * master whose last heartbeat is older than multiMaster.deadMasterTimeout is marked inactive by
 * exactly one live master (markMasterInactive is true to one caller), which then housekeeps it —
 * its unfinished builds end RETRY, its claims on requests are released so any master builds
 * them again, its builder/scheduler/change source rows go — and announces
 * ['masters', id, 'stopped']. Its schedulers' claims being gone, the other masters' claim beats
 * take them over.
 *
 * Every pass also housekeeps inactive masters silent for twice the timeout that still hold claims
 * on incomplete requests (one indexed query): the live master that expired one may have died
 * before finishing the job. At start (`sweep`) those that hold only unfinished builds are housekept too.
 *
 * Clocks: last_active is written with each master's own clock, so masters on different hosts
 * need clocks closer than the timeout.
 */
import { releaseMasterClaims } from '../db/buildrequests.js';
import { getUnfinishedBuilds } from '../db/builds.js';
import type { Database } from '../db/connection.js';
import { getExpiredMasters, getInactiveMastersHoldingClaims, getMasters, markMasterInactive, type MasterRow } from '../db/masters.js';
import { removeMasterServiceClaims } from '../db/schedulers.js';
import { releaseMasterLocks } from '../db/locks.js';
import { releaseMasterWorkerClaims } from '../db/workerClaims.js';
import { publishRequest } from '../process/messages.js';
import type { Logger } from '../util/log.js';
import type { MessageBus } from './bus.js';
import { housekeepMaster } from './housekeeping.js';

export interface ExpiryDeps {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  /** This master (never expired by itself). */
  masterid: number;
  /** Seconds of silence after which a master is dead. */
  deadMasterTimeout: number;
  /** Epoch seconds (default: the clock). */
  now?: () => number;
}

export class MasterExpiry {
  private readonly logger: Logger;
  private running: Promise<number[]> | undefined;

  constructor(private readonly deps: ExpiryDeps) {
    this.logger = deps.logger.child({ component: 'expiry' });
  }

  /** One pass; returns the masters this master expired. Overlapping calls share a pass. */
  run(opts: { sweep?: boolean } = {}): Promise<number[]> {
    this.running ??= this.pass(opts.sweep ?? false).finally(() => (this.running = undefined));
    return this.running;
  }

  private now(): number {
    return this.deps.now?.() ?? Math.floor(Date.now() / 1000);
  }

  private async pass(sweep: boolean): Promise<number[]> {
    const { db, masterid, deadMasterTimeout } = this.deps;
    const deadBefore = this.now() - deadMasterTimeout;
    const expired: number[] = [];
    for (const m of await getExpiredMasters(db, deadBefore)) {
      if (m.id === masterid) continue;
      // Several live masters may see it at once; the conditional UPDATE lets one of them win, and
      // re-checks the silence, so a master whose beat landed since we read it is left alone.
      if (!(await markMasterInactive(db, m.id, undefined, deadBefore))) continue;
      this.logger.warn(
        { event: 'master.expired', masterid: m.id, name: m.name, lastActive: m.last_active, timeout: deadMasterTimeout },
        `master ${m.name} (id ${m.id}) has been silent for more than ${deadMasterTimeout} s: taking over its work`,
      );
      await this.housekeep(m);
      expired.push(m.id);
    }
    // Twice the timeout: the master expiring one right now gets a whole timeout to housekeep it alone.
    for (const m of await getInactiveMastersHoldingClaims(db, deadBefore - deadMasterTimeout)) {
      if (m.id === masterid || expired.includes(m.id)) continue;
      this.logger.warn({ event: 'master.unfinishedHousekeeping', masterid: m.id, name: m.name }, `inactive master ${m.name} (id ${m.id}) still holds requests: housekeeping it`);
      await this.housekeep(m);
    }
    if (sweep) await this.sweep(deadBefore);
    return expired;
  }

  private async housekeep(m: MasterRow): Promise<void> {
    const { db, bus } = this.deps;
    await removeMasterServiceClaims(db, m.id);
    await housekeepMaster(db, bus, this.logger, m.id, { stateString: `interrupted: master ${m.name} stopped responding`, now: () => this.now() });
    bus.publish(['masters', String(m.id), 'stopped'], { masterid: m.id, name: m.name, active: false, last_active: m.last_active });
  }

  /**
   * Inactive, silent masters that still hold builds or claims. A master that is starting holds
   * neither yet (it claims only once active), so this never takes work from one.
   */
  private async sweep(deadBefore: number): Promise<void> {
    const { db, bus, masterid } = this.deps;
    for (const m of await getMasters(db)) {
      if (m.id === masterid || m.active || m.last_active >= deadBefore) continue;
      if ((await getUnfinishedBuilds(db, m.id)).length > 0) {
        await this.housekeep(m);
        continue;
      }
      const released = await releaseMasterClaims(db, m.id);
      for (const brid of released) await publishRequest(db, bus, brid, 'unclaimed');
      await removeMasterServiceClaims(db, m.id);
      // Locks and slave hosts an inactive master kept (housekeeping above releases them otherwise).
      await releaseMasterLocks(db, m.id);
      await releaseMasterWorkerClaims(db, m.id);
      if (released.length > 0) {
        this.logger.warn({ event: 'master.sweptClaims', masterid: m.id, requests: released }, `released ${released.length} request(s) still claimed by inactive master ${m.name}`);
      }
    }
  }
}
