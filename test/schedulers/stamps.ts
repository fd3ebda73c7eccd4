import type { Database } from '../../lib/db/connection.js';
import { getBuildsetSourcestamps } from '../../lib/db/buildsets.js';

/** The sourcestamp ids of a buildset. */
export async function findSourcestampsOf(db: Database, bsid: number): Promise<number[]> {
  return (await getBuildsetSourcestamps(db, bsid)).map((s) => s.id);
}
