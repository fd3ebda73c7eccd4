/**
 * Housekeeping of one master's leftovers (Buildbot's masterStopped), run by the master on itself:
 * at start for what a crash of its previous incarnation left, and at stop for anything a build could
 * not finish in time. Nothing claimed stays stranded:
 *   1. its builder_masters and configured_workers rows go (start re-creates them from the config);
 *   2. its connected_workers rows go (Buildbot leaves these; we do not), and so do its worker
 *      claims and the locks its builds held (lock_holders, worker_claims: ours, held in the DB);
 *   3. its unfinished builds end RETRY with the given state string, their unfinished steps RETRY and
 *      their open logs finished;
 *   4. every claim it holds on an incomplete request is released, so any master can run it again.
 */
import type { Database } from '../db/connection.js';
import { removeBuilderMasters } from '../db/builders.js';
import { releaseMasterClaims } from '../db/buildrequests.js';
import { completeBuild, getBuild, getUnfinishedBuilds } from '../db/builds.js';
import { finishLog, getLogs } from '../db/logs.js';
import { finishStep, getSteps } from '../db/steps.js';
import { disconnectAllWorkers } from '../db/workers.js';
import { releaseMasterLocks } from '../db/locks.js';
import { releaseMasterWorkerClaims } from '../db/workerClaims.js';
import { buildDict, publishRequest } from '../process/messages.js';
import { RETRY } from '../process/results.js';
import type { Logger } from '../util/log.js';
import type { MessageBus } from './bus.js';

export interface HousekeepingResult {
  /** Builds ended RETRY. */
  builds: number[];
  /** Requests whose claims were released. */
  requests: number[];
}

export async function housekeepMaster(
  db: Database,
  bus: MessageBus,
  logger: Logger,
  masterid: number,
  opts: { stateString: string; now?: () => number },
): Promise<HousekeepingResult> {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  await removeBuilderMasters(db, masterid);
  await disconnectAllWorkers(db, masterid);
  // Its locks and slave hosts go first, so other masters' waiting builds can start.
  await releaseMasterWorkerClaims(db, masterid);
  const locks = await releaseMasterLocks(db, masterid);
  if (locks > 0) bus.publish(['locks', 'master', 'released'], { masterid, released: locks });

  const builds: number[] = [];
  for (const build of await getUnfinishedBuilds(db, masterid)) {
    for (const step of await getSteps(db, build.id)) {
      if (step.complete_at !== null) continue;
      for (const log of await getLogs(db, step.id)) if (!log.complete) await finishLog(db, log.id);
      await finishStep(db, step.id, RETRY, now());
    }
    // Guarded: a build whose own master ended it since we listed it keeps that end (and its requests).
    if (!(await completeBuild(db, build.id, { results: RETRY, completeAt: now(), stateString: opts.stateString }))) continue;
    builds.push(build.id);
    const row = await getBuild(db, build.id);
    if (row) bus.publish(['builds', String(build.id), 'finished'], buildDict(row));
  }

  const requests = await releaseMasterClaims(db, masterid);
  for (const brid of requests) await publishRequest(db, bus, brid, 'unclaimed');
  if (builds.length || requests.length) {
    logger.warn(
      { event: 'master.housekeeping', masterid, builds, requests },
      `housekeeping: ${builds.length} unfinished build(s) ended RETRY, ${requests.length} request(s) released`,
    );
  }
  return { builds, requests };
}
