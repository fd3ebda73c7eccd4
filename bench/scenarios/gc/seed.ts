import type { Database } from '../../../lib/db/connection.js';
import { findOrCreateBuilder } from '../../../lib/db/builders.js';
import { findOrCreateMaster } from '../../../lib/db/masters.js';
import { insert, selectOne, valuesList } from '../../../lib/db/query.js';

/**
 * Writes finished builds fast, as a master would have left them, with multi-row INSERTs and
 * explicit ids: per build a buildset (with a property and a source stamp), its request and claim,
 * the build with `steps` steps, one log per step with `chunks` chunks, `props` build properties
 * and one build_data row. Used by the gc bench and the janitor tests.
 */
export interface SeedOptions {
  builds: number;
  /** Epoch seconds the first build starts; each next one `spacing` later (default 1 s). */
  startAt: number;
  spacing?: number;
  steps?: number;
  chunks?: number;
  props?: number;
  /** A source stamp per build (default: one shared by all). */
  stampPerBuild?: boolean;
  /** Builds per transaction (default 2000). */
  perTransaction?: number;
  onProgress?: (done: number) => void;
}

export interface Seeded {
  builderid: number;
  masterid: number;
  firstBuildid: number;
  lastBuildid: number;
}

const CHUNK = Buffer.from('compiling a.c\ncompiling b.c\nlinking\nok\n'.repeat(2));

async function nextId(db: Database, table: string, key = 'id'): Promise<number> {
  const row = await selectOne<{ m: number | null }>(db, `SELECT MAX(${key}) AS m FROM ${table}`);
  return Number(row?.m ?? 0) + 1;
}

/** Inserts `rows` (arrays of values) into `table (columns)`, as many per statement as the bind limit allows. */
async function bulk(db: Database, t: unknown, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  const per = Math.max(1, Math.floor(Math.min(db.caps.maxBindParams, 30_000) / columns.length) - 1);
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    await insert(db, `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${valuesList(part.length, columns.length)}`, part.flat(), t as never);
  }
}

export async function seedBuilds(db: Database, opts: SeedOptions): Promise<Seeded> {
  const steps = opts.steps ?? 2;
  const chunks = opts.chunks ?? 1;
  const props = opts.props ?? 2;
  const spacing = opts.spacing ?? 1;
  const per = opts.perTransaction ?? 2000;
  const masterid = await findOrCreateMaster(db, 'gc-seed:/nowhere');
  const builderid = await findOrCreateBuilder(db, 'gc-seeded', { description: null, tags: [] });
  const ids = {
    bs: await nextId(db, 'buildsets'),
    br: await nextId(db, 'buildrequests'),
    build: await nextId(db, 'builds'),
    step: await nextId(db, 'steps'),
    log: await nextId(db, 'logs'),
    ss: await nextId(db, 'sourcestamps'),
    number: Number((await selectOne<{ m: number | null }>(db, 'SELECT MAX(number) AS m FROM builds WHERE builderid = ?', [builderid]))?.m ?? 0) + 1,
  };
  const firstBuildid = ids.build;
  const sharedSs = opts.stampPerBuild ? undefined : ids.ss++;
  if (sharedSs !== undefined) {
    await insert(db, 'INSERT INTO sourcestamps (id, ss_hash, branch, revision, patchid, repository, codebase, project, created_at) VALUES (?, ?, NULL, NULL, NULL, ?, ?, ?, ?)', [
      sharedSs, `seed-${sharedSs}-${Date.now()}`, '', '', '', opts.startAt,
    ]);
  }
  for (let done = 0; done < opts.builds; ) {
    const n = Math.min(per, opts.builds - done);
    await db.transaction(async (t) => {
      const r: Record<string, unknown[][]> = { ss: [], bs: [], bsp: [], bss: [], br: [], claim: [], build: [], step: [], log: [], chunk: [], prop: [], data: [] };
      for (let i = 0; i < n; i++) {
        const at = opts.startAt + (done + i) * spacing;
        const bs = ids.bs++;
        const br = ids.br++;
        const build = ids.build++;
        let ss = sharedSs;
        if (ss === undefined) {
          ss = ids.ss++;
          r.ss!.push([ss, `seed-${ss}-${opts.startAt}`, 'main', `rev${ss}`, null, 'repo', '', '', at]);
        }
        r.bs!.push([bs, 'seeded', at, 1, at + 1, 0]);
        r.bsp!.push([bs, 'scheduler', '["seed", "Scheduler"]']);
        r.bss!.push([bs, ss]);
        r.br!.push([br, bs, builderid, 0, 1, 0, at, at + 1]);
        r.claim!.push([br, masterid, at]);
        r.build!.push([build, ids.number++, builderid, br, null, masterid, at, at + 1, 'finished', 0]);
        for (let s = 0; s < steps; s++) {
          const step = ids.step++;
          const log = ids.log++;
          r.step!.push([step, s, `step${s}`, build, at, at + 1, 'done', 0, '[]', 0]);
          r.log!.push([log, 'stdio', 'stdio', step, 1, chunks * 8, 's']);
          for (let c = 0; c < chunks; c++) r.chunk!.push([log, c * 8, c * 8 + 7, CHUNK, 0]);
        }
        for (let p = 0; p < props; p++) r.prop!.push([build, `prop${p}`, `["value ${p}", "seed"]`, 'seed']);
        r.data!.push([build, 'artifact', CHUNK, CHUNK.length, 'seed']);
      }
      await bulk(db, t, 'sourcestamps', ['id', 'ss_hash', 'branch', 'revision', 'patchid', 'repository', 'codebase', 'project', 'created_at'], r.ss!);
      await bulk(db, t, 'buildsets', ['id', 'reason', 'submitted_at', 'complete', 'complete_at', 'results'], r.bs!);
      await bulk(db, t, 'buildset_properties', ['buildsetid', 'property_name', 'property_value'], r.bsp!);
      await bulk(db, t, 'buildset_sourcestamps', ['buildsetid', 'sourcestampid'], r.bss!);
      await bulk(db, t, 'buildrequests', ['id', 'buildsetid', 'builderid', 'priority', 'complete', 'results', 'submitted_at', 'complete_at'], r.br!);
      await bulk(db, t, 'buildrequest_claims', ['brid', 'masterid', 'claimed_at'], r.claim!);
      await bulk(db, t, 'builds', ['id', 'number', 'builderid', 'buildrequestid', 'workerid', 'masterid', 'started_at', 'complete_at', 'state_string', 'results'], r.build!);
      await bulk(db, t, 'steps', ['id', 'number', 'name', 'buildid', 'started_at', 'complete_at', 'state_string', 'results', 'urls_json', 'hidden'], r.step!);
      await bulk(db, t, 'logs', ['id', 'name', 'slug', 'stepid', 'complete', 'num_lines', 'type'], r.log!);
      await bulk(db, t, 'logchunks', ['logid', 'first_line', 'last_line', 'content', 'compressed'], r.chunk!);
      await bulk(db, t, 'build_properties', ['buildid', 'name', 'value', 'source'], r.prop!);
      await bulk(db, t, 'build_data', ['buildid', 'name', 'value', 'length', 'source'], r.data!);
    }, { driverOnly: true });
    done += n;
    opts.onProgress?.(done);
  }
  return { builderid, masterid, firstBuildid, lastBuildid: ids.build - 1 };
}
