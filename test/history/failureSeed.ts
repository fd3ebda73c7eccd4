import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { addBuild, finishBuild } from '../../lib/db/builds.js';
import { getChange } from '../../lib/db/changes.js';
import type { Database } from '../../lib/db/connection.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { addPush } from '../../lib/db/pushes.js';
import { addStep, finishStep, startStep } from '../../lib/db/steps.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';

/** Rows for history tests, made with the lib/db functions (MySQL enforces the foreign keys). */
export interface HistorySeed {
  masterid: number;
  builderid: number;
  workers: number[];
}

export async function seedHistory(db: Database, builder = 'linux', workers = ['w1', 'w2']): Promise<HistorySeed> {
  const masterid = await findOrCreateMaster(db, 'host:/masters/m', 1000);
  const builderid = await findOrCreateBuilder(db, builder);
  // One at a time: ids then follow the names' order (tests compare lists ordered by worker id).
  const ids: number[] = [];
  for (const w of workers) ids.push(await findOrCreateWorker(db, w));
  return { masterid, builderid, workers: ids };
}

/** A push of one change per revision on `branch`; returns the push and its changes' sourcestamps. */
export async function pushRevisions(db: Database, revisions: string[], branch = 'main', at = 1000): Promise<{ pushid: number; sourcestamps: number[] }> {
  const { pushid, changeids } = await addPush(db, {
    repository: 'git://repo',
    branch,
    author: 'Ann <ann@example.com>',
    source: 'git',
    pushed_at: at,
    changes: revisions.map((r) => ({ author: 'Ann <ann@example.com>', revision: r, branch, repository: 'git://repo', comments: r, when_timestamp: at })),
  });
  const sourcestamps: number[] = [];
  for (const id of changeids) sourcestamps.push((await getChange(db, id))!.sourcestampid);
  return { pushid, sourcestamps };
}

/** A build of a sourcestamp with one started step; returns the ids. */
export async function buildOf(
  db: Database,
  s: HistorySeed,
  opts: { sourcestamp?: number; workerid: number | null; startedAt: number; builderid?: number; stepName?: string },
): Promise<{ buildid: number; stepid: number }> {
  const builderid = opts.builderid ?? s.builderid;
  const { brids } = await addBuildset(db, { sourcestamps: [opts.sourcestamp ?? { branch: 'main', revision: `rev${opts.startedAt}`, repository: 'git://repo' }], reason: 'test', properties: {}, builderids: [builderid], submitted_at: opts.startedAt });
  const { buildid } = await addBuild(db, { builderid, buildrequestid: brids[builderid]!, workerid: opts.workerid, masterid: s.masterid, state_string: 'building', started_at: opts.startedAt });
  const { stepid } = await addStep(db, buildid, opts.stepName ?? 'compile');
  await startStep(db, stepid, opts.startedAt);
  return { buildid, stepid };
}

/** Finishes a build and its step with the given durations (seconds). */
export async function finish(db: Database, ids: { buildid: number; stepid: number }, startedAt: number, o: { results: number; build: number; step: number }): Promise<void> {
  await finishStep(db, ids.stepid, o.results, startedAt + o.step);
  await finishBuild(db, ids.buildid, o.results, startedAt + o.build);
}
