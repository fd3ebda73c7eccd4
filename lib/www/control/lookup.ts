import type { Database } from '../../db/connection.js';
import { getBuild, type BuildRow } from '../../db/builds.js';
import type { Build } from '../../process/build.js';
import { buildIdOf } from '../api/nesting.js';
import type { ControlMaster } from './types.js';

/** /builders/{id|name}/builds/{n}: a number is a builder id, as in Buildbot's paths. */
export async function findBuildByNumber(db: Database, builder: string, number: number): Promise<BuildRow | undefined> {
  if (!Number.isInteger(number)) return undefined;
  const args = /^\d+$/.test(builder) ? { builderid: Number(builder), number } : { buildername: builder, number };
  const buildid = await buildIdOf(db, args);
  return buildid === undefined ? undefined : getBuild(db, buildid);
}

/**
 * The running build `buildid` of this master. Its row (and `builds new`) exists a moment before the
 * master lists the build as running, so a stop sent at once waits for it, briefly.
 */
export async function runningBuildOf(master: ControlMaster, buildid: number, waitMs = 5000): Promise<Build | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const build = master.runningBuild(buildid);
    if (build || Date.now() >= deadline) return build;
    const row = await getBuild(master.db, buildid);
    if (!row || row.complete_at !== null || Number(row.masterid) !== master.masterid) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}
