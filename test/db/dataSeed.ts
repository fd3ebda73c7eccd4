import type { Database } from '../../lib/db/connection.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { addBuild } from '../../lib/db/builds.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';

/** The rows most data-module tests need (MySQL enforces foreign keys, so they must really exist). */
export interface Seed {
  masterid: number;
  builderid: number;
  workerid: number;
}

export async function seed(db: Database, suffix = ''): Promise<Seed> {
  return {
    masterid: await findOrCreateMaster(db, `host:/masters/m${suffix}`, 1000),
    builderid: await findOrCreateBuilder(db, `builder${suffix}`),
    workerid: await findOrCreateWorker(db, `worker${suffix}`),
  };
}

/** `n` buildsets of one request each on `builderid`; returns the request ids in order. */
export async function addRequests(db: Database, builderid: number, n: number, submittedAt = 2000): Promise<number[]> {
  const brids: number[] = [];
  for (let i = 0; i < n; i++) {
    const { brids: map } = await addBuildset(db, { sourcestamps: [{}], reason: `r${i}`, properties: {}, builderids: [builderid], submitted_at: submittedAt + i });
    brids.push(map[builderid]!);
  }
  return brids;
}

/** A build (for step and log tests) with its request. */
export async function seedBuild(db: Database, s: Seed): Promise<number> {
  const [brid] = await addRequests(db, s.builderid, 1);
  const { buildid } = await addBuild(db, { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, masterid: s.masterid, state_string: 'starting', started_at: 3000 });
  return buildid;
}
