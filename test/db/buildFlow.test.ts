import { expect } from 'chai';
import { claimRequests, completeRequests, getPendingRequests } from '../../lib/db/buildrequests.js';
import { addBuildset, getBuildset, maybeCompleteBuildset } from '../../lib/db/buildsets.js';
import { addBuild, finishBuild, getBuild } from '../../lib/db/builds.js';
import type { Database } from '../../lib/db/connection.js';
import { addLog, appendLogChunks, finishLog, getLog, getLogChunks } from '../../lib/db/logs.js';
import { addStep, finishStep, getSteps, startStep } from '../../lib/db/steps.js';
import { encodeChunksAsync, readLines } from '../../lib/logs/chunkCodec.js';
import { SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { seed, type Seed } from './dataSeed.js';

/** All the DB work of one small build, as the master does it. */
async function oneBuild(db: Database, s: Seed, i: number): Promise<{ buildid: number; bsid: number; logid: number }> {
  const now = 10_000 + i;
  const { bsid, brids } = await addBuildset(db, {
    sourcestamps: [{ branch: 'main', revision: `rev${i}`, repository: 'https://example.org/r.git' }],
    reason: 'bench',
    properties: { scheduler: ['bench', 'Scheduler'] },
    builderids: [s.builderid],
    submitted_at: now,
  });
  const brid = brids[s.builderid]!;
  const { claimed } = await claimRequests(db, [brid], s.masterid, now);
  expect(claimed).to.deep.equal([brid]);
  const { buildid } = await addBuild(db, { builderid: s.builderid, buildrequestid: brid, workerid: s.workerid, masterid: s.masterid, state_string: 'building', started_at: now });
  let logid = 0;
  for (const name of ['checkout', 'compile']) {
    const { stepid } = await addStep(db, buildid, name);
    await startStep(db, stepid, now);
    if (name === 'compile') {
      ({ logid } = await addLog(db, stepid, 'stdio', 's'));
      const lines = Array.from({ length: 40 }, (_, k) => `o compiling unit ${k} of build ${i}`);
      const rows = await encodeChunksAsync(lines, 0, { timestamps: lines.map((_, k) => now * 1000 + k) });
      await appendLogChunks(db, logid, rows, lines.length);
      await finishLog(db, logid);
    }
    await finishStep(db, stepid, SUCCESS, now + 1);
  }
  await finishBuild(db, buildid, SUCCESS, now + 2);
  expect(await completeRequests(db, [brid], SUCCESS, now + 2, s.masterid)).to.deep.equal([brid]);
  expect(await maybeCompleteBuildset(db, bsid, now + 2)).to.deep.equal({ completed: true, results: SUCCESS });
  return { buildid, bsid, logid };
}

forEachDialect('the DB work of whole builds', (h) => {
  it('runs many small builds concurrently, every row right (and prints builds/s)', async function () {
    this.timeout(120_000);
    const db = await h.open();
    const s = await seed(db);
    const total = 120;
    const lanes = 6;
    const done: { buildid: number; bsid: number; logid: number }[] = [];
    const started = performance.now();
    await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < total; i += lanes) done.push(await oneBuild(db, s, i));
    }));
    const seconds = (performance.now() - started) / 1000;
    console.log(`      ${h.dialect}: ${total} builds in ${seconds.toFixed(2)} s = ${(total / seconds).toFixed(0)} builds/s (${lanes} concurrent)`);

    expect(await getPendingRequests(db)).to.deep.equal([]);
    const numbers = (await Promise.all(done.map((d) => getBuild(db, d.buildid)))).map((b) => b!.number).sort((a, b) => a - b);
    expect(numbers).to.deep.equal(Array.from({ length: total }, (_, i) => i + 1));
    for (const d of done.slice(0, 10)) {
      expect(await getBuildset(db, d.bsid)).to.include({ complete: 1, results: SUCCESS });
      expect((await getSteps(db, d.buildid)).map((x) => [x.number, x.name, x.results])).to.deep.equal([[0, 'checkout', 0], [1, 'compile', 0]]);
      expect(await getLog(db, d.logid)).to.include({ num_lines: 40, complete: 1 });
      expect(readLines(await getLogChunks(db, d.logid, 0, 39), 0, 39).lines).to.have.length(40);
    }
  });
});
