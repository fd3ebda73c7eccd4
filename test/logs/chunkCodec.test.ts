import { expect } from 'chai';
import { deflateSync, inflateSync } from 'node:zlib';
import {
  COMPRESSION,
  compactChunks,
  decodeChunkContent,
  encodeChunks,
  encodeChunksAsync,
  linesToText,
  mergeChunks,
  planCompaction,
  readLines,
  readLinesAsync,
  type LogChunkRow,
} from '../../lib/logs/chunkCodec.js';
import { buildbot, pythonHasLz4, requireBuildbotPython } from './buildbotPython.js';

interface PyRow {
  first_line: number;
  last_line: number;
  content: string;
  compressed: number;
}

const toPy = (rows: LogChunkRow[]): PyRow[] =>
  rows.map((r) => ({ first_line: r.first_line, last_line: r.last_line, content: r.content.toString('base64'), compressed: r.compressed }));
const fromPy = (rows: PyRow[]): LogChunkRow[] =>
  rows.map((r) => ({ first_line: r.first_line, last_line: r.last_line, content: Buffer.from(r.content, 'base64'), compressed: r.compressed }));

/** A compile-like log: similar lines that zlib shrinks well. */
function compileLog(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + from;
    return `o[${i}] cc -c src/module_${(i * 7919) % 997}.c -o obj/module_${(i * 7919) % 997}.o -O2 ${'-Wall '.repeat(i % 7)}`;
  });
}

describe('chunkCodec', function () {
  describe('encodeChunks', function () {
    it('stores short content raw, without the final newline, lines 0-based inclusive', function () {
      const rows = encodeChunks(['ohello', 'eerr'], 0);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ first_line: 0, last_line: 1, compressed: COMPRESSION.raw });
      expect(rows[0].content).to.deep.equal(Buffer.from('ohello\neerr'));
      expect(rows[0].timestamps).to.equal(null);
      expect(encodeChunks([], 0)).to.deep.equal([]);
    });

    it('compresses with zlib level 9 (78 DA) only when smaller, numbering from firstLine', function () {
      const lines = compileLog(200);
      const rows = encodeChunks(lines, 17);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ first_line: 17, last_line: 216, compressed: COMPRESSION.gz });
      expect([...rows[0].content.subarray(0, 2)]).to.deep.equal([0x78, 0xda]);
      expect(inflateSync(rows[0].content).toString()).to.equal(lines.join('\n'));
      expect(encodeChunks(lines, 0, { compression: 'raw' })[0].compressed).to.equal(COMPRESSION.raw);
    });

    it('cuts chunks below 64 KiB on line boundaries', function () {
      const lines = compileLog(5000);
      const rows = encodeChunks(lines, 0, { compression: 'raw' });
      expect(rows.length).to.be.greaterThan(3);
      rows.forEach((r, i) => {
        expect(r.content.length).to.be.lessThan(65536);
        if (i > 0) expect(r.first_line).to.equal(rows[i - 1].last_line + 1);
        expect(r.content.toString().split('\n')).to.have.length(r.last_line - r.first_line + 1);
      });
      expect(rows.at(-1)!.last_line).to.equal(4999);
      expect(readLines(rows, 0, 4999).lines).to.deep.equal(lines);
    });

    it('keeps a line of exactly 64 KiB whole, and truncates a longer one to 64 KiB of whole characters', function () {
      const exact = 'a'.repeat(65536);
      const rows = encodeChunks(['before', exact, 'after'], 0, { compression: 'raw' });
      expect(rows.map((r) => [r.first_line, r.last_line, r.content.length])).to.deep.equal([
        [0, 0, 6],
        [1, 1, 65536],
        [2, 2, 5],
      ]);
      expect(readLines(rows, 0, 2).lines).to.deep.equal(['before', exact, 'after']);

      const long = `${'b'.repeat(65535)}€tail`; // the € straddles byte 65536
      const cut = encodeChunks([long, 'next'], 0, { compression: 'raw' });
      expect(cut.map((r) => [r.first_line, r.last_line])).to.deep.equal([
        [0, 0],
        [1, 1],
      ]);
      expect(cut[0].content.toString()).to.equal('b'.repeat(65535));
      expect(readLines(cut, 1, 1).lines).to.deep.equal(['next']);
    });

    it('keeps empty lines that Buildbot would lose', function () {
      const single = encodeChunks([''], 4);
      expect(single).to.have.length(1);
      expect(single[0]).to.include({ first_line: 4, last_line: 4, compressed: 0 });
      expect(single[0].content.length).to.equal(0);
      const rows = encodeChunks(['x'.repeat(65535), ''], 0, { compression: 'raw' });
      expect(rows.map((r) => [r.first_line, r.last_line])).to.deep.equal([
        [0, 0],
        [1, 1],
      ]);
      expect(readLines(rows, 0, 1).lines).to.deep.equal(['x'.repeat(65535), '']);
    });

    it('async encoding gives the same rows', async function () {
      const lines = compileLog(3000);
      const ts = lines.map((_, i) => 1_700_000_000_000 + i);
      const a = encodeChunks(lines, 5, { timestamps: ts });
      const b = await encodeChunksAsync(lines, 5, { timestamps: ts });
      expect(b).to.deep.equal(a);
      expect(await readLinesAsync(b, 5, 3004)).to.deep.equal(readLines(a, 5, 3004));
    });

    it('refuses to write bz2/lz4 and mismatched timestamps', function () {
      expect(() => encodeChunks(['a'], 0, { compression: 'bz2' as never })).to.throw(/cannot write/);
      expect(() => encodeChunks(['a', 'b'], 0, { timestamps: [1] })).to.throw(/1 timestamps for 2/);
    });
  });

  describe('timestamps column', function () {
    it('round-trips per-line timestamps across chunks and line ranges', function () {
      const lines = compileLog(4000);
      const ts = lines.map((_, i) => 1_700_000_000_000 + Math.floor(i / 3) * 7);
      const rows = encodeChunks(lines, 0, { timestamps: ts });
      expect(rows.length).to.be.greaterThan(1);
      const mid = readLines(rows, 1000, 3500);
      expect(mid.firstLine).to.equal(1000);
      expect(mid.lines).to.deep.equal(lines.slice(1000, 3501));
      expect(mid.timestamps).to.deep.equal(ts.slice(1000, 3501));
      const total = rows.reduce((n, r) => n + r.timestamps!.length, 0);
      expect(total / lines.length).to.be.lessThan(1); // under a byte per line
    });

    it('reads rows without timestamps (written by Buildbot) as null', function () {
      const rows = [...encodeChunks(['a', 'b'], 0), ...encodeChunks(['c'], 2, { timestamps: [5] })];
      expect(readLines(rows, 0, 2)).to.deep.equal({ firstLine: 0, lines: ['a', 'b', 'c'], timestamps: [null, null, 5] });
    });
  });

  describe('decodeChunkContent', function () {
    it('rejects an unknown compression id clearly', function () {
      expect(() => decodeChunkContent(Buffer.from('x'), 9)).to.throw(/unknown log chunk compression 9/);
    });

    it('accepts strings and Uint8Arrays as content', function () {
      expect(decodeChunkContent('héllo', 0).toString()).to.equal('héllo');
      const z = deflateSync(Buffer.from('abc'));
      expect(decodeChunkContent(new Uint8Array(z), 1).toString()).to.equal('abc');
    });
  });

  describe('readLines', function () {
    it("trims to the requested range like Buildbot's getLogLines", function () {
      const rows = [...encodeChunks(['l0', 'l1', 'l2'], 0), ...encodeChunks(['l3', 'l4'], 3), ...encodeChunks(['l5'], 5)];
      expect(readLines(rows, 1, 3).lines).to.deep.equal(['l1', 'l2', 'l3']);
      expect(readLines(rows, 4, 100).lines).to.deep.equal(['l4', 'l5']);
      expect(readLines(rows, 6, 9)).to.deep.equal({ firstLine: 6, lines: [], timestamps: [] });
      expect(linesToText(readLines(rows, 0, 1).lines)).to.equal('l0\nl1\n');
      expect(linesToText([])).to.equal('');
    });
  });

  describe('compaction', function () {
    it('merges runs of small chunks up to 1000 lines, as compressLog does', function () {
      const rows: LogChunkRow[] = [];
      const ts: number[] = [];
      for (let i = 0; i < 300; i++) {
        const lines = compileLog(10, i * 10);
        const stamps = lines.map((_, k) => 1_000 + i * 10 + k);
        ts.push(...stamps);
        rows.push(...encodeChunks(lines, i * 10, { timestamps: stamps }));
      }
      const compacted = compactChunks(rows);
      expect(compacted.length).to.be.lessThan(rows.length / 50);
      for (const r of compacted) expect(r.last_line - r.first_line).to.be.at.most(1000);
      expect(readLines(compacted, 0, 2999)).to.deep.equal(readLines(rows, 0, 2999));
      expect(readLines(compacted, 0, 2999).timestamps).to.deep.equal(ts);
    });

    it('leaves single chunks alone unless forced, and never merges across a gap', function () {
      const a = encodeChunks(['a'], 0, { compression: 'raw' })[0];
      const c = encodeChunks(['c'], 2, { compression: 'raw' })[0];
      expect(planCompaction([{ first_line: 0, last_line: 0, length: 1 }])).to.deep.equal([]);
      expect(planCompaction([{ first_line: 0, last_line: 0, length: 1 }], { force: true })).to.deep.equal([
        { first_line: 0, last_line: 0, chunks: 1 },
      ]);
      expect(planCompaction([])).to.deep.equal([]);
      expect(compactChunks([a, c])).to.deep.equal([a, c]);
      expect(() => mergeChunks([a, c])).to.throw(/not contiguous/);
    });

    it('fills timestamps of rows without them with null when merging', function () {
      const merged = mergeChunks([...encodeChunks(['a', 'b'], 0), ...encodeChunks(['c'], 2, { timestamps: [9] })]);
      expect(merged).to.include({ first_line: 0, last_line: 2 });
      expect(readLines([merged], 0, 2).timestamps).to.deep.equal([null, null, 9]);
    });
  });

  describe('compatibility with Buildbot 3.7 (python cross-check)', function () {
    before(function () {
      requireBuildbotPython(this);
    });

    it('decodes a content blob Python wrote with zlib.compress(level 9)', function () {
      const lines = compileLog(300);
      const { content } = buildbot<{ content: string }>({ op: 'zlib', lines });
      const blob = Buffer.from(content, 'base64');
      expect([...blob.subarray(0, 2)]).to.deep.equal([0x78, 0xda]);
      const rows = [{ first_line: 0, last_line: 299, content: blob, compressed: 1 }];
      expect(readLines(rows, 0, 299).lines).to.deep.equal(lines);
    });

    it('cuts and flags chunks exactly as appendLog does', function () {
      const batches = [compileLog(3), compileLog(2500, 3), ['a'.repeat(65536)], ['b'.repeat(70000), 'after'], ['é'.repeat(30000), 'x']];
      const theirs = fromPy(buildbot<{ rows: PyRow[] }>({ op: 'append', batches }).rows);
      const ours: LogChunkRow[] = [];
      let next = 0;
      for (const b of batches) {
        ours.push(...encodeChunks(b, next));
        next += b.length;
      }
      expect(ours.map((r) => [r.first_line, r.last_line, r.compressed])).to.deep.equal(
        theirs.map((r) => [r.first_line, r.last_line, r.compressed]),
      );
      ours.forEach((r, i) => {
        expect(decodeChunkContent(r.content, r.compressed)).to.deep.equal(decodeChunkContent(theirs[i].content, theirs[i].compressed));
      });
    });

    it('Buildbot reads our rows (getLogLines) for any range', function () {
      const lines = [...compileLog(1500), '', 'ünïcødé 😀', '\0nul'];
      const rows = [...encodeChunks(lines.slice(0, 700), 0), ...encodeChunks(lines.slice(700), 700)];
      for (const [first, last] of [
        [0, lines.length - 1],
        [650, 720],
        [1500, 1502],
        [3, 3],
      ]) {
        const { text } = buildbot<{ text: string }>({ op: 'read', rows: toPy(rows), first, last });
        expect(text, `${first}-${last}`).to.equal(linesToText(readLines(rows, first, last).lines));
      }
    });

    for (const method of ['raw', 'gz', 'bz2', 'lz4']) {
      it(`we read rows Buildbot wrote with logCompressionMethod='${method}' and compressLog`, function () {
        if (method === 'lz4' && !pythonHasLz4()) this.skip();
        const batches = Array.from({ length: 40 }, (_, i) => compileLog(37, i * 37));
        batches.push(['ünïcødé 😀 ' + 'z'.repeat(20000)]);
        const all = batches.flat();
        const theirs = fromPy(buildbot<{ rows: PyRow[] }>({ op: 'append', method, batches, compress: true }).rows);
        const id = COMPRESSION[method as keyof typeof COMPRESSION];
        expect(theirs.some((r) => r.compressed === id), `some row has compressed=${id}`).to.equal(true);
        expect(readLines(theirs, 0, all.length - 1).lines).to.deep.equal(all);
        expect(readLines(theirs, 100, 200).lines).to.deep.equal(all.slice(100, 201));
      });
    }

    it("plans the same merges as compressLog on Buildbot's own rows", function () {
      // Small compressible batches, with a poorly compressible 20 KB line now and then so that both
      // the 64 KiB and the 1000-line limits cut runs.
      let seed = 1;
      const noise = () => Array.from({ length: 20000 }, () => ((seed = (seed * 48271) % 2147483647) % 64).toString(36)).join('');
      const batches = Array.from({ length: 120 }, (_, i) => compileLog(1 + (i % 23), i * 100).concat(i % 9 === 0 ? [noise()] : []));
      const before = fromPy(buildbot<{ rows: PyRow[] }>({ op: 'append', batches }).rows);
      const after = fromPy(buildbot<{ rows: PyRow[] }>({ op: 'append', batches, compress: true }).rows);
      const plan = planCompaction(before.map((r) => ({ first_line: r.first_line, last_line: r.last_line, length: r.content.length })));
      const untouched = before.filter((r) => !plan.some((g) => r.first_line >= g.first_line && r.last_line <= g.last_line));
      const expected = [...plan.map((g) => [g.first_line, g.last_line]), ...untouched.map((r) => [r.first_line, r.last_line])].sort(
        (a, b) => a[0] - b[0],
      );
      expect(expected).to.deep.equal(after.map((r) => [r.first_line, r.last_line]));
      expect(plan.length).to.be.greaterThan(3);
    });
  });
});
