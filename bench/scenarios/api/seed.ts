/**
 * Fills a fresh database with `n` builds fast: multi-row INSERTs inside one transaction per
 * 50,000 rows (sqlite: our own write connection; MySQL: one pooled connection). The builds are
 * spread round-robin over `builders` builders, numbered per builder, each finished with a result;
 * every builder has one buildset and request that its builds point at (the queries measured read
 * builds only; MySQL's foreign keys want the parents to exist).
 */
import { findOrCreateBuilder } from '../../../lib/db/builders.js';
import { addBuildset } from '../../../lib/db/buildsets.js';
import type { Database } from '../../../lib/db/connection.js';
import { findOrCreateMaster } from '../../../lib/db/masters.js';
import { insert, valuesList } from '../../../lib/db/query.js';
import { findOrCreateWorker } from '../../../lib/db/workers.js';

const COLUMNS = 9;
const ROWS_PER_STATEMENT = 1000;
const ROWS_PER_TRANSACTION = 50_000;

export interface Seeded {
  builderids: number[];
  seconds: number;
}

export async function seedBuilds(db: Database, n: number, builders: number, log: (line: string) => void): Promise<Seeded> {
  const t0 = performance.now();
  const masterid = await findOrCreateMaster(db, 'bench:/api', 1000);
  const workerid = await findOrCreateWorker(db, 'bench-worker');
  const builderids: number[] = [];
  const brids: number[] = [];
  for (let b = 0; b < builders; b++) {
    const builderid = await findOrCreateBuilder(db, `builder-${b}`);
    const bs = await addBuildset(db, { sourcestamps: [{}], reason: 'bench', properties: {}, builderids: [builderid], submitted_at: 1000 });
    builderids.push(builderid);
    brids.push(bs.brids[builderid]!);
  }
  const started = 1_700_000_000;
  for (let done = 0; done < n; ) {
    const end = Math.min(n, done + ROWS_PER_TRANSACTION);
    await db.transaction(
      async (t) => {
        for (let i = done; i < end; i += ROWS_PER_STATEMENT) {
          const count = Math.min(ROWS_PER_STATEMENT, end - i);
          const params: unknown[] = new Array(count * COLUMNS);
          for (let k = 0; k < count; k++) {
            const idx = i + k;
            const b = idx % builders;
            const result = idx % 7 === 0 ? 2 : 0;
            const at = started + idx * 60;
            params.splice(k * COLUMNS, COLUMNS, Math.floor(idx / builders) + 1, builderids[b], brids[b], workerid, masterid, at, at + 45, result === 0 ? 'build successful' : 'failed compile', result);
          }
          await insert(
            db,
            `INSERT INTO builds (number, builderid, buildrequestid, workerid, masterid, started_at, complete_at, state_string, results) VALUES ${valuesList(count, COLUMNS)}`,
            params,
            t,
          );
        }
      },
      { driverOnly: true, retry: false },
    );
    done = end;
    if (done % 200_000 === 0 || done === n) log(`api: seeded ${done.toLocaleString('en')} builds`);
  }
  return { builderids, seconds: (performance.now() - t0) / 1000 };
}
