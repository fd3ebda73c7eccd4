/** Builds with a step, on a given revision/branch, for the test-history tests. */
import type { Database } from '../../lib/db/connection.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import { addBuild } from '../../lib/db/builds.js';
import { addStep } from '../../lib/db/steps.js';
import { findOrCreateWorker } from '../../lib/db/workers.js';
import type { Seed } from '../db/dataSeed.js';

export interface SeededBuild {
  buildid: number;
  stepid: number;
  workerid: number;
}

export async function buildOn(db: Database, s: Seed, stamp: { revision?: string | null; branch?: string | null; worker?: string } = {}): Promise<SeededBuild> {
  const { brids } = await addBuildset(db, {
    sourcestamps: [{ branch: stamp.branch ?? 'main', revision: stamp.revision ?? null, repository: 'https://example.org/app.git' }],
    reason: 'test',
    properties: {},
    builderids: [s.builderid],
  });
  const workerid = stamp.worker ? await findOrCreateWorker(db, stamp.worker) : s.workerid;
  const { buildid } = await addBuild(db, { builderid: s.builderid, buildrequestid: brids[s.builderid]!, workerid, masterid: s.masterid, state_string: 'building' });
  const { stepid } = await addStep(db, buildid, 'test');
  return { buildid, stepid, workerid };
}
