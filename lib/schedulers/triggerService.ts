/**
 * What a Trigger step needs from the master its build runs on: the triggerable schedulers by name,
 * waiting for a buildset (this master's bus, and the DB for buildsets other masters complete),
 * cancelling requests nobody has started, and links to builds. Each master registers one; a step
 * finds its master's by the build it runs (the step context carries no master), see
 * findTriggerHost.
 */
import { claimRequests, completeRequests, getRequest } from '../db/buildrequests.js';
import { getBuilder } from '../db/builders.js';
import { getBuildsForRequest } from '../db/builds.js';
import { getBuildset, maybeCompleteBuildset } from '../db/buildsets.js';
import type { Database } from '../db/connection.js';
import type { MessageBus } from '../master/bus.js';
import { publishBuildset, publishRequest } from '../process/messages.js';
import { CANCELLED, SUCCESS } from '../process/results.js';
import type { Logger } from '../util/log.js';
import type { TriggerTarget } from './triggerTypes.js';

export interface TriggeredBuild {
  builderid: number;
  builderName: string;
  number: number;
  results: number | null;
}

export interface TriggerHost {
  /** Is this build (with this worker connection) running on this master? */
  ownsBuild(buildid: number, conn: unknown): boolean;
  /** The Triggerable or NightlyTriggerable scheduler called `name`. */
  target(name: string): TriggerTarget | undefined;
  /** Resolves with the buildset's results once complete, or undefined when `signal` aborts first. */
  waitForBuildset(bsid: number, signal: AbortSignal): Promise<number | undefined>;
  /** Ends CANCELLED the requests no master has claimed yet; returns those it cancelled. */
  cancelRequests(brids: readonly number[]): Promise<number[]>;
  builds(brid: number): Promise<TriggeredBuild[]>;
  buildUrl(builderid: number, number: number): string;
  requestUrl(brid: number): string;
}

const hosts = new Set<TriggerHost>();

export function registerTriggerHost(host: TriggerHost): () => void {
  hosts.add(host);
  return () => hosts.delete(host);
}

/** The host of the master running `buildid` (on connection `conn`), if any. */
export function findTriggerHost(buildid: number, conn: unknown): TriggerHost | undefined {
  for (const h of hosts) if (h.ownsBuild(buildid, conn)) return h;
  return undefined;
}

export interface TriggerServiceDeps {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  masterid: number;
  /** config.buildbotURL (ends with '/'). */
  buildbotURL: string;
  pollIntervalMs: number;
  ownsBuild(buildid: number, conn: unknown): boolean;
  target(name: string): TriggerTarget | undefined;
  /** Epoch seconds. */
  now(): number;
}

export class TriggerService implements TriggerHost {
  constructor(private readonly deps: TriggerServiceDeps) {}

  ownsBuild(buildid: number, conn: unknown): boolean {
    return this.deps.ownsBuild(buildid, conn);
  }

  target(name: string): TriggerTarget | undefined {
    return this.deps.target(name);
  }

  waitForBuildset(bsid: number, signal: AbortSignal): Promise<number | undefined> {
    const { db, bus, logger, pollIntervalMs } = this.deps;
    return new Promise((resolve) => {
      let done = false;
      const finish = (results: number | undefined) => {
        if (done) return;
        done = true;
        unsubscribe();
        clearInterval(poll);
        signal.removeEventListener('abort', onAbort);
        resolve(results);
      };
      const onAbort = () => finish(undefined);
      const unsubscribe = bus.subscribe(['buildsets', String(bsid), 'complete'], (_k, msg) => finish(Number((msg as { results?: number }).results ?? SUCCESS)));
      // Another master may complete it: its message never reaches our bus.
      const check = () =>
        void getBuildset(db, bsid)
          .then((row) => {
            if (row && row.complete) finish(row.results ?? SUCCESS);
          })
          .catch((err: unknown) => logger.warn({ event: 'trigger.pollFailed', bsid, err: (err as Error).message }, 'reading a triggered buildset failed'));
      const poll = setInterval(check, pollIntervalMs);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) finish(undefined);
      else check();
    });
  }

  async cancelRequests(brids: readonly number[]): Promise<number[]> {
    const { db, bus, masterid } = this.deps;
    const cancelled: number[] = [];
    for (const brid of brids) {
      const r = await getRequest(db, brid);
      if (!r || r.complete || r.claimed_by_masterid !== null) continue;
      // Claiming first: a distributor that takes it at the same moment wins and builds it.
      const { claimed } = await claimRequests(db, [brid], masterid, this.deps.now());
      if (!claimed.includes(brid)) continue;
      const done = await completeRequests(db, [brid], CANCELLED, this.deps.now(), masterid);
      if (!done.includes(brid)) continue;
      cancelled.push(brid);
      await publishRequest(db, bus, brid, 'complete');
      const bs = await maybeCompleteBuildset(db, r.buildsetid, this.deps.now());
      if (bs.completed) await publishBuildset(db, bus, r.buildsetid, 'complete');
    }
    return cancelled;
  }

  async builds(brid: number): Promise<TriggeredBuild[]> {
    const out: TriggeredBuild[] = [];
    for (const b of await getBuildsForRequest(this.deps.db, brid)) {
      const builder = await getBuilder(this.deps.db, b.builderid);
      out.push({ builderid: b.builderid, builderName: builder?.name ?? String(b.builderid), number: b.number, results: b.results });
    }
    return out;
  }

  buildUrl(builderid: number, number: number): string {
    return `${this.base()}#/builders/${builderid}/builds/${number}`;
  }

  requestUrl(brid: number): string {
    return `${this.base()}#/buildrequests/${brid}`;
  }

  private base(): string {
    const url = this.deps.buildbotURL;
    return url.endsWith('/') ? url : `${url}/`;
  }
}
