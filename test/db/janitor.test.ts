import { expect } from 'chai';
import { seedBuilds } from '../../bench/scenarios/gc/seed.js';
import type { Database } from '../../lib/db/connection.js';
import { collectGarbage, databaseSize } from '../../lib/db/janitor.js';
import { acquireLease, getLease, readCursors, releaseLease, renewLease } from '../../lib/db/janitorLease.js';
import { autoVacuumMode, enableIncrementalVacuum, freePages, reclaimSpace } from '../../lib/db/janitorVacuum.js';
import { addChange } from '../../lib/db/changes.js';
import { addPush } from '../../lib/db/pushes.js';
import { findOrCreateMaster, markMasterInactive } from '../../lib/db/masters.js';
import { insert, remove, select, selectOne } from '../../lib/db/query.js';
import { forEachDialect } from '../support/databases.js';

const NOW = 2_000_000_000;
const DAY = 86_400;

async function count(db: Database, table: string, where = '1 = 1', params: unknown[] = []): Promise<number> {
  return Number((await selectOne<{ n: number }>(db, `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params))?.n ?? 0);
}

/** Child rows whose parent row is missing, over every link the janitor maintains. */
async function orphans(db: Database): Promise<Record<string, number>> {
  const links: [string, string, string, string][] = [
    ['logchunks', 'logid', 'logs', 'id'],
    ['logs', 'stepid', 'steps', 'id'],
    ['steps', 'buildid', 'builds', 'id'],
    ['build_properties', 'buildid', 'builds', 'id'],
    ['build_data', 'buildid', 'builds', 'id'],
    ['builds', 'buildrequestid', 'buildrequests', 'id'],
    ['buildrequest_claims', 'brid', 'buildrequests', 'id'],
    ['buildrequests', 'buildsetid', 'buildsets', 'id'],
    ['buildset_properties', 'buildsetid', 'buildsets', 'id'],
    ['buildset_sourcestamps', 'buildsetid', 'buildsets', 'id'],
    ['buildset_sourcestamps', 'sourcestampid', 'sourcestamps', 'id'],
    ['changes', 'sourcestampid', 'sourcestamps', 'id'],
    ['change_files', 'changeid', 'changes', 'changeid'],
    ['push_changes', 'changeid', 'changes', 'changeid'],
    ['push_changes', 'pushid', 'pushes', 'id'],
  ];
  const out: Record<string, number> = {};
  for (const [child, col, parent, key] of links) {
    const n = await count(db, child, `${col} NOT IN (SELECT ${key} FROM ${parent})`);
    if (n > 0) out[`${child}.${col}`] = n;
  }
  return out;
}

forEachDialect('janitor (lib/db/janitor.ts)', (h) => {
  it('deletes builds past the build horizon with everything below and above them, and nothing newer', async () => {
    const db = await h.open();
    // 40 old builds (each with its own stamp), then 10 recent ones.
    await seedBuilds(db, { builds: 40, startAt: NOW - 10 * DAY, spacing: 60, steps: 2, chunks: 2, stampPerBuild: true });
    await seedBuilds(db, { builds: 10, startAt: NOW - 600, spacing: 10 });
    const result = await collectGarbage(db, { horizons: { buildHorizon: DAY }, now: NOW, orphanGraceSeconds: 0, batchSize: 8 });

    expect(await count(db, 'builds')).to.equal(10);
    expect(await count(db, 'builds', 'started_at < ?', [NOW - DAY])).to.equal(0);
    expect(result.rows).to.include({ builds: 40, steps: 80, logs: 80, logchunks: 160, build_properties: 80, build_data: 40 });
    expect(result.rows).to.include({ buildrequests: 40, buildrequest_claims: 40, buildsets: 40, buildset_properties: 40, buildset_sourcestamps: 40, sourcestamps: 40 });
    expect(result.batches).to.be.greaterThan(2);
    expect(await count(db, 'steps')).to.equal(20);
    expect(await count(db, 'buildsets')).to.equal(10);
    expect(await orphans(db)).to.deep.equal({});

    // A second run finds nothing.
    const again = await collectGarbage(db, { horizons: { buildHorizon: DAY }, now: NOW, orphanGraceSeconds: 0 });
    expect(again.totalRows).to.equal(0);
  });

  it('keeps running builds, their requests and young unreferenced stamps', async () => {
    const db = await h.open();
    const { firstBuildid } = await seedBuilds(db, { builds: 5, startAt: NOW - 10 * DAY, stampPerBuild: true });
    // One of them is still running (no complete_at).
    await db.transaction((t) => insert(db, 'UPDATE builds SET complete_at = NULL WHERE id = ?', [firstBuildid + 2], t));
    await db.transaction((t) => insert(db, 'UPDATE buildrequests SET complete = 0 WHERE id = (SELECT buildrequestid FROM builds WHERE id = ?)', [firstBuildid + 2], t));
    // The default grace keeps stamps younger than an hour even when unused: these are 10 days old.
    await insert(db, "INSERT INTO sourcestamps (ss_hash, branch, revision, repository, codebase, project, created_at) VALUES ('young', NULL, NULL, '', '', '', ?)", [NOW - 60]);
    const result = await collectGarbage(db, { horizons: { buildHorizon: DAY }, now: NOW });
    expect(result.rows.builds).to.equal(4);
    expect((await select<{ id: number }>(db, 'SELECT id FROM builds')).map((r) => r.id)).to.deep.equal([firstBuildid + 2]);
    expect(await count(db, 'buildrequests')).to.equal(1);
    expect(await count(db, 'buildsets')).to.equal(1);
    expect(await count(db, 'sourcestamps', "ss_hash = 'young'")).to.equal(1);
    expect(result.rows.sourcestamps).to.equal(4);
  });

  it('logs horizon: drops old chunks, keeps the log rows as type d, and remembers how far it got', async () => {
    const db = await h.open();
    await seedBuilds(db, { builds: 20, startAt: NOW - 5 * DAY, spacing: 60, steps: 3, chunks: 2 });
    await seedBuilds(db, { builds: 5, startAt: NOW - 100, spacing: 1, steps: 3, chunks: 2 });
    const cursors = await readCursorsOrEmpty(db);
    const result = await collectGarbage(db, { horizons: { logHorizon: DAY }, now: NOW, cursors });
    expect(result.rows).to.deep.equal({ logchunks: 120 });
    expect(await count(db, 'logs', "type = 'd'")).to.equal(60);
    expect(await count(db, 'logs')).to.equal(75);
    expect(await count(db, 'logchunks')).to.equal(30);
    expect(result.cursors.logs).to.be.greaterThan(0);
    const maxOldStep = Number((await selectOne<{ m: number }>(db, 'SELECT MAX(id) AS m FROM steps WHERE started_at < ?', [NOW - DAY]))!.m);
    expect(result.cursors.logs).to.equal(maxOldStep);
  });

  it('build data and test result horizons delete only those rows', async () => {
    const db = await h.open();
    const { firstBuildid, builderid } = await seedBuilds(db, { builds: 6, startAt: NOW - 5 * DAY, spacing: 60 });
    const step = (await selectOne<{ id: number }>(db, 'SELECT id FROM steps WHERE buildid = ?', [firstBuildid]))!.id;
    const { insertId: setid } = await insert(
      db,
      "INSERT INTO test_result_sets (builderid, buildid, stepid, description, category, value_unit, complete) VALUES (?, ?, ?, 'unit', 'pass_fail', 'boolean', 1)",
      [builderid, firstBuildid, step],
    );
    await insert(db, "INSERT INTO test_results (builderid, test_result_setid, value) VALUES (?, ?, '1'), (?, ?, '0')", [builderid, setid, builderid, setid]);
    const result = await collectGarbage(db, { horizons: { buildDataHorizon: DAY, testResultHorizon: DAY }, now: NOW });
    expect(result.rows).to.deep.equal({ build_data: 6, test_results: 2, test_result_sets: 1 });
    expect(await count(db, 'builds')).to.equal(6);
  });

  it('a dry run counts what a real run deletes and deletes nothing', async () => {
    const db = await h.open();
    await seedBuilds(db, { builds: 30, startAt: NOW - 10 * DAY, spacing: 60, stampPerBuild: true });
    const before = await count(db, 'logchunks');
    const dry = await collectGarbage(db, { horizons: { buildHorizon: DAY, logHorizon: DAY }, now: NOW, orphanGraceSeconds: 0, dryRun: true, batchSize: 7 });
    expect(await count(db, 'logchunks')).to.equal(before);
    expect(await count(db, 'builds')).to.equal(30);
    const real = await collectGarbage(db, { horizons: { buildHorizon: DAY, logHorizon: DAY }, now: NOW, orphanGraceSeconds: 0, batchSize: 7 });
    expect(dry.rows).to.deep.equal(real.rows);
    expect(real.rows.builds).to.equal(30);
  });

  it('changes: keeps the newest changeHorizon, deletes older than changeAgeHorizon, with their files, pushes and stamps', async () => {
    const db = await h.open();
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await addChange(db, { author: 'a', files: ['f1', 'f2'], revision: `r${i}`, branch: 'main', repository: 'repo', when_timestamp: NOW - (10 - i) * DAY, properties: { p: 1 } }, undefined, NOW - 2 * DAY));
    }
    await addPush(db, { repository: 'repo', branch: 'main', author: 'a', source: 'git', pushed_at: NOW - DAY, changes: [{ author: 'a', revision: 'p1', branch: 'main', repository: 'repo', when_timestamp: NOW - DAY }] }, undefined, NOW - DAY);
    // Count: the 3 newest of 7 stay.
    const byCount = await collectGarbage(db, { horizons: { changeHorizon: 3 }, now: NOW, orphanGraceSeconds: 0 });
    expect(byCount.rows).to.include({ changes: 4, change_files: 8, change_properties: 4, sourcestamps: 4 });
    expect(await count(db, 'changes')).to.equal(3);
    // Age: changes made more than 3 days ago go (two of the remaining three).
    const byAge = await collectGarbage(db, { horizons: { changeAgeHorizon: 3 * DAY }, now: NOW, orphanGraceSeconds: 0 });
    expect(byAge.rows.changes).to.equal(2);
    expect(await count(db, 'changes')).to.equal(1);
    expect(await count(db, 'pushes')).to.equal(1);
    const all = await collectGarbage(db, { horizons: { changeAgeHorizon: 0 }, now: NOW, orphanGraceSeconds: 0 });
    expect(all.rows).to.include({ changes: 1, push_changes: 1, pushes: 1 });
    expect(await orphans(db)).to.deep.equal({});
  });

  it('removes child rows left below the lowest parent id (orphans)', async function () {
    const db = await h.open();
    if (db.caps.enforcesForeignKeys) this.skip(); // MySQL refuses orphans in the first place
    const { firstBuildid, lastBuildid } = await seedBuilds(db, { builds: 3, startAt: NOW - 100 });
    await seedBuilds(db, { builds: 3, startAt: NOW - 50 });
    // As Buildbot (or a crash) may leave them: builds gone, everything below them still there.
    await remove(db, 'DELETE FROM builds WHERE id BETWEEN ? AND ?', [firstBuildid, lastBuildid]);
    const result = await collectGarbage(db, { horizons: {}, now: NOW });
    expect(result.rows).to.deep.equal({ steps: 6, logs: 6, logchunks: 6, build_properties: 6, build_data: 3 });
    expect(await orphans(db)).to.deep.equal({});
  });

  it('removes source stamps and patches nobody references once past the grace; keeps used and young ones', async () => {
    const db = await h.open();
    const patch = async () => (await insert(db, "INSERT INTO patches (patchlevel, patch_base64, patch_author, patch_comment, subdir) VALUES (1, 'eA==', 'a', 'c', NULL)", [])).insertId;
    const stamp = (hash: string, at: number, patchid: number | null) =>
      insert(db, "INSERT INTO sourcestamps (ss_hash, branch, revision, repository, codebase, project, created_at, patchid) VALUES (?, NULL, NULL, '', '', '', ?, ?)", [hash, at, patchid]);
    const dangling = await patch(); // its stamp never written (a crash), or deleted without it
    await stamp('lonely', NOW - 10 * DAY, await patch());
    await stamp('young', NOW - 60, await patch());
    await addChange(db, { author: 'a', files: [], revision: 'r1', branch: 'main', repository: 'repo', when_timestamp: NOW - 10 * DAY }, undefined, NOW - 10 * DAY);
    const result = await collectGarbage(db, { horizons: {}, now: NOW });
    expect(result.rows).to.deep.equal({ sourcestamps: 1, patches: 2 });
    expect((await select<{ ss_hash: string }>(db, 'SELECT ss_hash FROM sourcestamps WHERE patchid IS NOT NULL')).map((r) => r.ss_hash)).to.deep.equal(['young']);
    expect(await count(db, 'sourcestamps')).to.equal(2); // young, and the change's
    expect(await count(db, 'patches', 'id = ?', [dangling])).to.equal(0);
    expect(await count(db, 'patches')).to.equal(1);
  });

  it('signature horizon: deletes old history rows when the tables exist, keeps labelled signatures', async function () {
    const db = await h.open();
    const tables = new Set((await select<{ name: string }>(db, db.caps.listTablesQuery)).map((r) => r.name));
    if (!tables.has('failure_signatures')) this.skip();
    const sig = async (hash: string, lastSeen: number, known: number | null) =>
      (await insert(db, "INSERT INTO failure_signatures (hash, signature, example, first_seen, first_buildid, last_seen, last_buildid, occurrences, known_issueid) VALUES (?, 's', 'e', ?, 1, ?, 1, 1, ?)", [hash, lastSeen, lastSeen, known])).insertId;
    const old = await sig('a', NOW - 10 * DAY, null);
    await sig('b', NOW - 10 * DAY, 7);
    const recent = await sig('c', NOW - 60, null);
    for (const [s, at] of [[old, NOW - 10 * DAY], [recent, NOW - 60]] as const) {
      await insert(db, "INSERT INTO failure_occurrences (signatureid, buildid, stepid, line, text, builderid, at) VALUES (?, 1, 1, 1, 't', 1, ?)", [s, at]);
      await insert(db, 'INSERT INTO failure_counts (signatureid, day, builderid, count) VALUES (?, ?, 1, 1)', [s, at - (at % DAY)]);
    }
    const result = await collectGarbage(db, { horizons: { signatureHorizon: 2 * DAY }, now: NOW });
    expect(result.rows).to.deep.equal({ failure_occurrences: 1, failure_counts: 1, failure_signatures: 1 });
    expect((await select<{ hash: string }>(db, 'SELECT hash FROM failure_signatures ORDER BY hash')).map((r) => r.hash)).to.deep.equal(['b', 'c']);
  });

  it('lease: one taker at a time; renewed by its holder; taken over once expired or its master is inactive', async () => {
    const db = await h.open();
    const m1 = await findOrCreateMaster(db, 'm1');
    const m2 = await findOrCreateMaster(db, 'm2');
    await db.transaction((t) => insert(db, 'UPDATE masters SET active = 1 WHERE id IN (?)', [[m1, m2]], t));
    const opts = { now: NOW, leaseSeconds: 60, intervalSeconds: 3600 };
    const both = await Promise.all([acquireLease(db, m1, opts), acquireLease(db, m2, opts)]);
    expect(both.filter((o) => o.acquired)).to.have.length(1);
    const winner = both[0]!.acquired ? m1 : m2;
    const loser = winner === m1 ? m2 : m1;
    expect(await renewLease(db, loser, NOW + 120)).to.equal(false);
    expect(await renewLease(db, winner, NOW + 120)).to.equal(true);
    // Still held at NOW + 100; expired at NOW + 121, but the last run is not over: due at once only after release + interval.
    expect((await acquireLease(db, loser, { ...opts, now: NOW + 100 })).acquired).to.equal(false);
    expect((await acquireLease(db, loser, { ...opts, now: NOW + 121 })).acquired).to.equal(true);
    expect(await releaseLease(db, winner, NOW + 122)).to.equal(false);
    expect(await releaseLease(db, loser, NOW + 130, { logs: 42 })).to.equal(true);
    expect(await readCursors(db)).to.deep.equal({ logs: 42 });
    // Not due until the interval has passed.
    expect((await acquireLease(db, winner, { ...opts, now: NOW + 200 })).acquired).to.equal(false);
    expect((await acquireLease(db, winner, { ...opts, now: NOW + 200, force: true })).acquired).to.equal(true);
    // Its holder marked inactive (dead): taken over before expiry.
    await markMasterInactive(db, winner);
    expect((await acquireLease(db, null, { ...opts, now: NOW + 201, force: true })).acquired).to.equal(true);
    expect((await getLease(db))!.masterid).to.equal(null);
    expect(await releaseLease(db, null, NOW + 202)).to.equal(true);
  });

  it('sqlite: incremental vacuum gives freed pages back in steps', async function () {
    const db = await h.open();
    if (!db.caps.supportsVacuum) this.skip();
    // upgrade-master makes a new file incremental already (migrate.ts): nothing left to switch.
    expect(await autoVacuumMode(db)).to.equal('incremental');
    expect(await enableIncrementalVacuum(db)).to.equal(false);
    await seedBuilds(db, { builds: 500, startAt: NOW - 10 * DAY, steps: 3, chunks: 3, stampPerBuild: true });
    const full = await databaseSize(db);
    await collectGarbage(db, { horizons: { buildHorizon: DAY }, now: NOW, orphanGraceSeconds: 0 });
    expect((await freePages(db)).free).to.be.greaterThan(100);
    let steps = 0;
    const reclaimed = await reclaimSpace(db, { pagesPerStep: 64, pause: async () => void steps++ });
    expect(reclaimed).to.be.greaterThan(0);
    expect(steps).to.be.greaterThan(1);
    expect((await freePages(db)).free).to.equal(0);
    expect(await databaseSize(db)).to.equal(full - reclaimed);
  });
});

async function readCursorsOrEmpty(db: Database) {
  try {
    return await readCursors(db);
  } catch {
    return {};
  }
}
