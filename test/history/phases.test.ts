import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { addLog, appendLogChunks } from '../../lib/db/logs.js';
import { readStepPhases, stepPhases } from '../../lib/history/phases.js';
import { encodeChunks } from '../../lib/logs/chunkCodec.js';
import { forEachDialect } from '../support/databases.js';
import { startApi } from '../www/api/apiFixture.js';
import { buildOf, seedHistory } from './failureSeed.js';

const LINES = ['checking out', '::group::configure', 'checking for cc... yes', '=== compile ===', 'cc -c a.c', 'cc -c b.c', '[phase] test', 'ok 1', 'ok 2'];
const STAMPS = [1000, 1500, 1800, 4000, 9000, 12000, 12500, null, 20000];

describe('history stepPhases', () => {
  it('cuts a log into phases at marker lines, timed by the next marker or the last stamped line', () => {
    expect(stepPhases(LINES, STAMPS)).to.deep.equal([
      { name: 'configure', line: 2, start: 1500, end: 4000, durationMs: 2500 },
      { name: 'compile', line: 4, start: 4000, end: 12500, durationMs: 8500 },
      { name: 'test', line: 7, start: 12500, end: 20000, durationMs: 7500 },
    ]);
  });

  it('needs timestamps; takes other markers', () => {
    expect(stepPhases(LINES, LINES.map(() => null))).to.deep.equal([]);
    expect(stepPhases(LINES, STAMPS, { markers: [/^cc -c (\S+)/], firstLine: 10 }).map((p) => [p.name, p.line, p.durationMs])).to.deep.equal([
      ['a.c', 14, 3000],
      ['b.c', 15, 8000],
    ]);
  });
});

forEachDialect('history readStepPhases', (h) => {
  let db: Database;
  beforeEach(async () => {
    db = await h.open();
  });

  it("reads a step's stdio log with its timestamps (channel prefix dropped)", async () => {
    const s = await seedHistory(db);
    const { stepid } = await buildOf(db, s, { workerid: s.workers[0]!, startedAt: 1 });
    expect(await readStepPhases(db, stepid)).to.deep.equal([]);
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    await appendLogChunks(db, logid, encodeChunks(LINES.map((l) => `o${l}`), 0, { timestamps: STAMPS }), LINES.length);
    expect((await readStepPhases(db, stepid)).map((p) => [p.name, p.line, p.durationMs])).to.deep.equal([
      ['configure', 2, 2500],
      ['compile', 4, 8500],
      ['test', 7, 7500],
    ]);
  });

  it('answers them over the REST API at /steps/{id}/phases', async () => {
    const s = await seedHistory(db);
    const { stepid } = await buildOf(db, s, { workerid: s.workers[0]!, startedAt: 1 });
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    await appendLogChunks(db, logid, encodeChunks(LINES.map((l) => `o${l}`), 0, { timestamps: STAMPS }), LINES.length);
    const { server, get } = await startApi(db);
    try {
      const r = await get(`/steps/${stepid}/phases`);
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal({
        phases: [
          { name: 'configure', line: 2, start: 1500, end: 4000, duration_ms: 2500 },
          { name: 'compile', line: 4, start: 4000, end: 12500, duration_ms: 8500 },
          { name: 'test', line: 7, start: 12500, end: 20000, duration_ms: 7500 },
        ],
        meta: { total: 3 },
      });
      expect((await get(`/steps/${stepid + 1000}/phases`)).status).to.equal(404);
    } finally {
      await server.stop();
    }
  });
});
