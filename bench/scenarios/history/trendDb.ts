import type { Database } from '../../../lib/db/connection.js';
import { findOrCreateBuilder } from '../../../lib/db/builders.js';
import { addBuildset } from '../../../lib/db/buildsets.js';
import { addBuild, finishBuild } from '../../../lib/db/builds.js';
import { findOrCreateMaster } from '../../../lib/db/masters.js';
import { batches, insert, valuesList } from '../../../lib/db/query.js';
import { addStep, finishStep } from '../../../lib/db/steps.js';
import { findOrCreateWorker } from '../../../lib/db/workers.js';
import { recordFinishedBuild } from '../../../lib/history/buildHistory.js';
import { listSignatures } from '../../../lib/history/failures.js';
import { addKnownIssue } from '../../../lib/history/knownIssues.js';
import { classify } from '../../../lib/history/suggestions.js';
import { recordStepFailures } from '../../../lib/history/signatures.js';

export const DAY = 86_400;
export const STEP_NAMES = ['checkout', 'configure', 'compile', 'test', 'upload'];
export const BRANCHES = ['main', 'release', 'feature'];

export interface TrendDb {
  builders: number[];
  workers: number[];
  /** Epoch s of the first synthetic build; builds spread over a year from there. */
  start: number;
  end: number;
}

/**
 * `n` finished builds over a year on 10 builders, 20 workers and 3 branches, with 5 steps each,
 * written as the summary rows recordFinishedBuild writes (build_durations, step_durations) in
 * multi-row INSERTs, plus `failingSteps` steps' error lines through recordStepFailures.
 */
export async function fillTrendDb(db: Database, n: number, failingSteps: number, log: (s: string) => void): Promise<TrendDb> {
  const builders: number[] = [];
  const workers: number[] = [];
  for (let i = 0; i < 10; i++) builders.push(await findOrCreateBuilder(db, `b${i}`));
  for (let i = 0; i < 20; i++) workers.push(await findOrCreateWorker(db, `w${i}`));
  const start = 19_000 * DAY;
  const span = 365 * DAY;
  let seed = 7;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 16) % k;
  };
  const buildRows: unknown[][] = [];
  const stepRows: unknown[][] = [];
  for (let i = 0; i < n; i++) {
    const buildid = 1_000_000 + i;
    const builderid = builders[i % builders.length]!;
    const workerid = workers[rnd(workers.length)]!;
    const branch = BRANCHES[rnd(10) < 7 ? 0 : 1 + rnd(2)]!;
    const at = start + Math.floor((i * span) / n);
    const results = rnd(10) === 0 ? 2 : rnd(50) === 0 ? 4 : 0;
    let t = at;
    for (let s = 0; s < STEP_NAMES.length; s++) {
      const d = 10 + s * 30 + rnd(20);
      stepRows.push([buildid * 10 + s, buildid, builderid, workerid, branch, STEP_NAMES[s], t, d, results === 0 || s < 3 ? 0 : results]);
      t += d;
    }
    buildRows.push([buildid, builderid, workerid, branch, at, t - at + 5, results]);
  }
  await db.transaction(async (tx) => {
    for (const part of batches(db, buildRows, 7)) {
      await insert(db, `INSERT INTO build_durations (buildid, builderid, workerid, branch, started_at, duration, results) VALUES ${valuesList(part.length, 7)}`, part.flat(), tx);
    }
    for (const part of batches(db, stepRows, 9)) {
      await insert(db, `INSERT INTO step_durations (stepid, buildid, builderid, workerid, branch, name, started_at, duration, results) VALUES ${valuesList(part.length, 9)}`, part.flat(), tx);
    }
  }, { driverOnly: true });
  log(`history: ${n} builds, ${stepRows.length} steps written`);
  const templates = Array.from({ length: 5000 }, (_, k) => `/home/w/build/src/mod${k}/file.c:${k}:1: error: symbol_${k} undeclared (first use in this function)`);
  for (let i = 0; i < failingSteps; i++) {
    const row = buildRows[Math.floor((i * n) / failingSteps)]!;
    const [buildid, builderid, workerid, branch, at] = row as [number, number, number, string, number];
    const errors = [0, 1, 2].map((j) => ({ line: 10 + j, text: templates[(i * 7 + j * 13) % templates.length]!.replace(':1:', `:${i}:`), test: `test_${j}` }));
    await recordStepFailures(db, { buildid, stepid: buildid * 10 + 3, logid: null, builderid, workerid, branch, revision: `r${i}`, at: at + 100 }, errors);
  }
  log(`history: ${failingSteps} failing steps recorded`);
  // People have labelled every signature (with one of 5 issues): the worst case for suggestions.
  const issues: number[] = [];
  for (let k = 0; k < 5; k++) issues.push((await addKnownIssue(db, { title: `issue ${k}`, signature: `never seen ${k}` })).id);
  const { signatures } = await listSignatures(db, { limit: 100_000 });
  for (const [k, sig] of signatures.entries()) await classify(db, { signatureid: sig.id }, issues[k % issues.length]!, 'bench');
  log(`history: ${signatures.length} signatures labelled`);
  return { builders, workers, start, end: start + span };
}

/**
 * `k` real finished builds (rows made by lib/db) on the first builder, each recorded with
 * recordFinishedBuild (summary rows + regression checks over its 25-build series); returns the
 * milliseconds each recordFinishedBuild took.
 */
export async function timeFinishedBuilds(db: Database, tdb: TrendDb, k: number): Promise<number[]> {
  const masterid = await findOrCreateMaster(db, 'bench:/history', 1);
  const builderid = tdb.builders[0]!;
  const times: number[] = [];
  for (let i = 0; i < k; i++) {
    const at = tdb.end + i * 600;
    const { brids } = await addBuildset(db, { sourcestamps: [{ branch: 'main', revision: `real${i}`, repository: 'git://r' }], reason: 'bench', properties: {}, builderids: [builderid], submitted_at: at });
    const { buildid } = await addBuild(db, { builderid, buildrequestid: brids[builderid]!, workerid: tdb.workers[0]!, masterid, state_string: 'x', started_at: at });
    let t = at;
    for (const name of STEP_NAMES) {
      const { stepid } = await addStep(db, buildid, name, undefined, { startedAt: t });
      t += 20;
      await finishStep(db, stepid, 0, t);
    }
    await finishBuild(db, buildid, 0, t + 5);
    const t0 = performance.now();
    await recordFinishedBuild(db, buildid);
    times.push(performance.now() - t0);
  }
  return times;
}
