import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { addLog, appendLogChunks, compressLog, finishLog, getLog, getLogBySlug, getLogChunks, getLogs } from '../../lib/db/logs.js';
import { addStep } from '../../lib/db/steps.js';
import { encodeChunks, readLines } from '../../lib/logs/chunkCodec.js';
import { forEachDialect } from '../support/databases.js';
import { seed, seedBuild } from './dataSeed.js';

async function newStep(db: Database): Promise<number> {
  const s = await seed(db);
  const buildid = await seedBuild(db, s);
  return (await addStep(db, buildid, 'shell')).stepid;
}

/** Writes `lines` as a LogBuffer would: one batch per `batch` lines, with timestamps. */
async function writeLines(db: Database, logid: number, lines: string[], stamps: number[], batch: number): Promise<void> {
  for (let i = 0; i < lines.length; i += batch) {
    const part = lines.slice(i, i + batch);
    const rows = encodeChunks(part, i, { timestamps: stamps.slice(i, i + batch) });
    await appendLogChunks(db, logid, rows, i + part.length);
  }
}

async function readAll(db: Database, logid: number) {
  const log = (await getLog(db, logid))!;
  return readLines(await getLogChunks(db, logid, 0, log.num_lines - 1), 0, log.num_lines - 1);
}

forEachDialect('db/logs', (h) => {
  it('adds logs with Buildbot slugs, suffixing collisions within a step', async () => {
    const db = await h.open();
    const stepid = await newStep(db);
    expect(await addLog(db, stepid, 'stdio', 's')).to.deep.include({ slug: 'stdio' });
    expect(await addLog(db, stepid, 'test results', 't')).to.deep.include({ slug: 'test_results' });
    expect(await addLog(db, stepid, 'test/results', 't')).to.deep.include({ slug: 'test_results_2' });
    expect(await addLog(db, stepid, 'test results', 'h')).to.deep.include({ slug: 'test_results_3' });
    const { logid } = await addLog(db, stepid, 'résumé.html', 'h');
    expect(await getLog(db, logid)).to.deep.equal({ id: logid, name: 'résumé.html', slug: 'r_sum__html', stepid, complete: 0, num_lines: 0, type: 'h' });
    expect((await getLogBySlug(db, stepid, 'test_results_2'))?.name).to.equal('test/results');
    expect((await getLogs(db, stepid)).map((l) => l.slug)).to.deep.equal(['stdio', 'test_results', 'test_results_2', 'test_results_3', 'r_sum__html']);
    await addLog(db, stepid, 'x', 'q' as 's').then(() => expect.fail('expected a failure'), (err: Error) => expect(err.message).to.match(/log type/));
  });

  it('appends chunks and num_lines together, and reads lines and timestamps back', async () => {
    const db = await h.open();
    const stepid = await newStep(db);
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    const lines = Array.from({ length: 25 }, (_, i) => `o line ${i} ✓`);
    const stamps = lines.map((_, i) => 1_700_000_000_000 + i * 7);
    await writeLines(db, logid, lines, stamps, 10);
    expect(await getLog(db, logid)).to.include({ num_lines: 25, complete: 0 });
    expect(await readAll(db, logid)).to.deep.equal({ firstLine: 0, lines, timestamps: stamps });
    const middle = readLines(await getLogChunks(db, logid, 12, 21), 12, 21);
    expect(middle).to.deep.equal({ firstLine: 12, lines: lines.slice(12, 22), timestamps: stamps.slice(12, 22) });
    expect(await getLogChunks(db, logid, 30, 40)).to.deep.equal([]);
    await finishLog(db, logid);
    expect(await getLog(db, logid)).to.include({ complete: 1 });
  });

  it('is idempotent: a batch written twice adds no line twice and num_lines never goes down', async () => {
    const db = await h.open();
    const stepid = await newStep(db);
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    const first = encodeChunks(['a', 'b'], 0, { timestamps: [1, 2] });
    const second = encodeChunks(['c'], 2, { timestamps: [3] });
    expect(await appendLogChunks(db, logid, first, 2)).to.equal(1);
    expect(await appendLogChunks(db, logid, second, 3)).to.equal(1);
    expect(await appendLogChunks(db, logid, first, 2)).to.equal(0);
    expect(await appendLogChunks(db, logid, [...first, ...second], 3)).to.equal(0);
    expect(await getLog(db, logid)).to.include({ num_lines: 3 });
    expect(await readAll(db, logid)).to.deep.equal({ firstLine: 0, lines: ['a', 'b', 'c'], timestamps: [1, 2, 3] });
    const [rows] = await db.sequelize.query('SELECT COUNT(*) AS n FROM logchunks WHERE logid = ?', { replacements: [logid] });
    expect(Number((rows as { n: number }[])[0]!.n)).to.equal(2);
  });

  it('retries a batch of big chunks (several INSERTs, over 1 MiB) that failed half-way: no line lost or doubled', async function () {
    this.timeout(60_000);
    const db = await h.open();
    const stepid = await newStep(db);
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    // Random hex compresses only to about half: ~2.4 MB of text makes ~1.2 MB of chunks.
    const lines = Array.from({ length: 4000 }, (_, i) => `${i} ${Buffer.from(Array.from({ length: 300 }, () => Math.floor(Math.random() * 256))).toString('hex')}`);
    const rows = encodeChunks(lines, 0, { timestamps: lines.map((_, i) => i) });
    expect(rows.reduce((n, r) => n + r.content.length, 0)).to.be.greaterThan(1 << 20);

    // The last row is broken (NOT NULL last_line): its INSERT fails after the first one went in.
    const broken = [...rows.slice(0, -1), { ...rows[rows.length - 1]!, last_line: null as unknown as number }];
    await appendLogChunks(db, logid, broken, lines.length).then(() => expect.fail('expected a failure'), (err: Error) => expect(err).to.be.instanceOf(Error));
    expect(await getLog(db, logid)).to.include({ num_lines: 0 });
    const written = (await getLogChunks(db, logid, 0, lines.length)).length;
    expect(written).to.be.within(1, rows.length - 1);

    // LogBuffer offers the same batch again.
    expect(await appendLogChunks(db, logid, rows, lines.length)).to.equal(rows.length - written);
    expect(await getLogChunks(db, logid, 0, lines.length)).to.have.length(rows.length);
    expect(await getLog(db, logid)).to.include({ num_lines: lines.length });
    const back = await readAll(db, logid);
    expect(back.lines).to.deep.equal(lines);
    expect(back.timestamps).to.deep.equal(lines.map((_, i) => i));
  });

  it('compresses a finished log into few chunks, keeping every line, timestamp and Buildbot row shape', async () => {
    const db = await h.open();
    const stepid = await newStep(db);
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    const lines = Array.from({ length: 2500 }, (_, i) => `o output line number ${i}`);
    const stamps = lines.map((_, i) => 1_700_000_000_000 + i * 3);
    await writeLines(db, logid, lines, stamps, 50);
    const before = await getLogChunks(db, logid, 0, 2499);
    expect(before).to.have.length(50);

    const saved = await compressLog(db, logid);
    const after = await getLogChunks(db, logid, 0, 2499);
    expect(saved).to.be.greaterThan(0);
    expect(after.length).to.be.within(3, 5); // ≤ 1000 lines per merged chunk
    for (let i = 1; i < after.length; i++) expect(after[i]!.first_line).to.equal(after[i - 1]!.last_line + 1);
    expect(after.every((r) => r.compressed === 1)).to.equal(true);
    expect(await readAll(db, logid)).to.deep.equal({ firstLine: 0, lines, timestamps: stamps });
    expect(await compressLog(db, logid)).to.equal(0);
  });

  it('compresses a log written without timestamps (as Buildbot writes it) and an empty log', async () => {
    const db = await h.open();
    const stepid = await newStep(db);
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    for (let i = 0; i < 5; i++) await appendLogChunks(db, logid, encodeChunks([`l${i}`], i), i + 1);
    await compressLog(db, logid);
    expect(await getLogChunks(db, logid, 0, 4)).to.have.length(1);
    expect(await readAll(db, logid)).to.deep.equal({ firstLine: 0, lines: ['l0', 'l1', 'l2', 'l3', 'l4'], timestamps: [null, null, null, null, null] });
    const empty = await addLog(db, stepid, 'empty', 't');
    expect(await compressLog(db, empty.logid)).to.equal(0);
  });
});
