import { expect } from 'chai';
import { LineSplitter, splitLongLine, type SplitLine } from '../../lib/logs/lineSplitter.js';
import { buildbot, requireBuildbotPython } from './buildbotPython.js';

/** Push each piece on one channel (at times 1, 2, …), flush, and return the texts. */
function split(pieces: (string | Buffer)[], splitter = new LineSplitter()): string[] {
  const out: SplitLine[] = [];
  pieces.forEach((p, i) => out.push(...splitter.push('o', typeof p === 'string' ? Buffer.from(p, 'utf8') : p, i + 1)));
  out.push(...splitter.flush());
  return out.map((l) => l.text);
}

/** Cut a buffer at the given offsets. */
function cutAt(buf: Buffer, offsets: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let prev = 0;
  for (const o of [...offsets, buf.length]) {
    parts.push(buf.subarray(prev, o));
    prev = o;
  }
  return parts;
}

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('LineSplitter', function () {
  it("splits printf 'a\\rb\\n' into a and b (Buildbot stores oa, ob)", function () {
    const s = new LineSplitter();
    const lines = [...s.push('o', Buffer.from('a\rb\n'), 5), ...s.flush()];
    expect(lines.map((l) => l.channel + l.text)).to.deep.equal(['oa', 'ob']);
    expect(lines.map((l) => l.ts)).to.deep.equal([5, 5]);
  });

  it('treats CRLF as one line end, also when \\r and \\n arrive in different pushes', function () {
    expect(split(['a\r\nb\r\n'])).to.deep.equal(['a', 'b']);
    expect(split(['a\r', '\nb\r', '\n'])).to.deep.equal(['a', 'b']);
    expect(split(['a\r', 'b\n'])).to.deep.equal(['a', 'b']);
    // \r\r\n is a bare \r then a \r\n: an empty line in between, as in Buildbot.
    expect(split(['a\r\r\nb\n'])).to.deep.equal(['a', '', 'b']);
  });

  it('drops a final \\r at flush, like Buildbot flushing with an added newline', function () {
    expect(split(['abc\r'])).to.deep.equal(['abc']);
    expect(split(['abc\n\r'])).to.deep.equal(['abc', '']);
    expect(split(['abc'])).to.deep.equal(['abc']);
    expect(split([''])).to.deep.equal([]);
  });

  it('breaks lines at ANSI cursor moves but not at other escapes', function () {
    expect(split(['a\x1b[2Jb\x1b[uc\x1b[12;34Hd\x1b[1;2fe\n'])).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(split(['\x1b[31mred\x1b[0m \x1b[2K\x1b[3J\x1b[1;2X\x1b[;2H\x1bx\n'])).to.deep.equal([
      '\x1b[31mred\x1b[0m \x1b[2K\x1b[3J\x1b[1;2X\x1b[;2H\x1bx',
    ]);
  });

  it('recognises a cursor move split across pushes at every position', function () {
    const seq = 'a\x1b[12;34Hb\n';
    for (let i = 1; i < seq.length; i++) {
      expect(split([seq.slice(0, i), seq.slice(i)]), `cut at ${i}`).to.deep.equal(['a', 'b']);
    }
    // An escape still open at the end is plain text.
    expect(split(['a\x1b[12;3'])).to.deep.equal(['a\x1b[12;3']);
  });

  it('turns a run of backspaces into one line break, also across pushes', function () {
    expect(split(['abc\b\b\bdef\n'])).to.deep.equal(['abc', 'def']);
    expect(split(['a\b', '\b', '\bb\n'])).to.deep.equal(['a', 'b']);
    expect(split(['\bx\n'])).to.deep.equal(['', 'x']);
    expect(split(['x\b'])).to.deep.equal(['x']);
  });

  it('cuts a 10,000-character line into 4096 + 4096 + 1808, however it arrives', function () {
    const line = 'x'.repeat(10_000);
    const expected = ['x'.repeat(4096), 'x'.repeat(4096), 'x'.repeat(1808), 'next'];
    expect(split([`${line}\nnext\n`])).to.deep.equal(expected);
    const buf = Buffer.from(`${line}\nnext\n`);
    expect(split(cutAt(buf, [1000, 2000, 4096, 4097, 8193, 9999]))).to.deep.equal(expected);
    expect(split([`${'y'.repeat(4096)}\n`])).to.deep.equal(['y'.repeat(4096)]);
    expect(split([`${'y'.repeat(8192)}\n`])).to.deep.equal(['y'.repeat(4096), 'y'.repeat(4096)]);
  });

  it('counts characters, not bytes or UTF-16 units, when cutting long lines', function () {
    const line = '€'.repeat(5000); // 3 bytes each
    expect(split([`${line}\n`]).map((l) => l.length)).to.deep.equal([4096, 904]);
    const emoji = '😀'.repeat(4097); // 4 bytes, 2 UTF-16 units each
    const pieces = split([`${emoji}\n`]);
    expect(pieces.map((p) => [...p].length)).to.deep.equal([4096, 1]);
    expect(pieces.join('')).to.equal(emoji);
    expect(splitLongLine('ab😀cd', 3)).to.deep.equal(['ab😀', 'cd']);
  });

  it('keeps memory bounded: a huge line without newline is emitted in pieces before it ends', function () {
    const s = new LineSplitter();
    const emitted: SplitLine[] = [];
    for (let i = 0; i < 20; i++) emitted.push(...s.push('o', Buffer.alloc(10_000, 0x7a), i));
    expect(emitted.length).to.be.greaterThan(30); // held part stays under 64 KiB
    expect(emitted.every((l) => l.text.length === 4096)).to.equal(true);
    emitted.push(...s.push('o', Buffer.from('\n'), 99));
    expect(emitted.map((l) => l.text).join('')).to.equal('z'.repeat(200_000));
    expect(emitted.slice(0, -1).every((l) => l.text.length === 4096)).to.equal(true);
    expect(emitted[0].ts).to.equal(0);
  });

  it('decodes a multi-byte character split between pushes at every byte', function () {
    const text = 'a€b😀c\n';
    const buf = Buffer.from(text);
    for (let i = 1; i < buf.length; i++) {
      for (let j = i + 1; j < buf.length; j++) {
        expect(split(cutAt(buf, [i, j])), `cuts ${i},${j}`).to.deep.equal(['a€b😀c']);
      }
    }
  });

  it('replaces invalid UTF-8 with U+FFFD and keeps NUL bytes', function () {
    expect(split([Buffer.from([0x61, 0xff, 0x62, 0x0a])])).to.deep.equal(['a\ufffdb']);
    expect(split([Buffer.from([0x61, 0xe2, 0x82])])).to.deep.equal(['a\ufffd']);
    expect(split([Buffer.from('a\0b\0\n')])).to.deep.equal(['a\0b\0']);
  });

  it("stamps each line with its first byte's arrival time", function () {
    const s = new LineSplitter();
    const out = [
      ...s.push('o', Buffer.from('hel'), 100),
      ...s.push('o', Buffer.from('lo\nwor'), 200),
      ...s.push('o', Buffer.from('ld\nnext'), 300),
      ...s.flush(),
    ];
    expect(out.map((l) => [l.text, l.ts])).to.deep.equal([
      ['hello', 100],
      ['world', 200],
      ['next', 300],
    ]);
  });

  it('keeps channels independent and flushes each', function () {
    const s = new LineSplitter();
    const out = [
      ...s.push('o', Buffer.from('out-'), 1),
      ...s.push('e', Buffer.from('err line\nerr-'), 2),
      ...s.push('o', Buffer.from('done\n'), 3),
      ...s.push('h', Buffer.from('header'), 4),
    ];
    expect(s.hasPartial()).to.equal(true);
    out.push(...s.flush());
    expect(s.hasPartial()).to.equal(false);
    expect(out.map((l) => `${l.channel}${l.text}@${l.ts}`)).to.deep.equal(['eerr line@2', 'oout-done@1', 'eerr-@2', 'hheader@4']);
  });

  it('applies the transform to whole lines, so text split across pushes is seen whole', function () {
    const s = new LineSplitter({ transform: (l) => l.replaceAll('s3cr3t', '<tok>') });
    const out = [...s.push('o', Buffer.from('tok=s3c'), 1), ...s.push('o', Buffer.from('r3t\n'), 2)];
    expect(out.map((l) => l.text)).to.deep.equal(['tok=<tok>']);
  });

  it('gives the same lines however the input is chunked (fuzz)', function () {
    const rand = prng(42);
    const alphabet = ['a', 'b', ' ', 'é', '€', '😀', '\n', '\r', '\b', '\x1b', '[', '2', 'J', ';', 'H', 'f', 'u', '1', '\0'];
    for (let n = 0; n < 300; n++) {
      let text = '';
      const len = Math.floor(rand() * 120);
      for (let i = 0; i < len; i++) text += alphabet[Math.floor(rand() * alphabet.length)];
      const buf = Buffer.from(text);
      const whole = split([buf]);
      const cuts = [...new Set(Array.from({ length: Math.floor(rand() * 8) }, () => Math.floor(rand() * buf.length)))].sort((a, b) => a - b);
      expect(split(cutAt(buf, cuts)), JSON.stringify(text)).to.deep.equal(whole);
    }
  });

  it("matches Buildbot's LineBoundaryFinder on whole inputs (python cross-check)", function () {
    requireBuildbotPython(this);
    const rand = prng(7);
    const alphabet = ['a', 'b', ' ', 'é', '€', '😀', '\n', '\n', '\r', '\b', '\x1b', '[', '2', 'J', ';', 'H', 'f', 'u', '1', '\0', '\t'];
    const cases: string[] = ['a\rb\n', 'x\r\ny\r', 'a\b\b\bb', '\x1b[2J\x1b[u\x1b[1;1H', 'tail without newline'];
    for (let n = 0; n < 400; n++) {
      let text = '';
      const len = Math.floor(rand() * 100);
      for (let i = 0; i < len; i++) text += alphabet[Math.floor(rand() * alphabet.length)];
      cases.push(text);
    }
    const { texts } = buildbot<{ texts: string[] }>({ op: 'lineboundaries', cases: cases.map((c) => [c]) });
    cases.forEach((c, i) => {
      const ours = split([c]).map((l) => `${l}\n`).join('');
      expect(ours, JSON.stringify(c)).to.equal(texts[i]);
    });
  });

  it('splits fast (throughput printed, not asserted)', function () {
    const line = 'x'.repeat(70) + ' compiling src/some/file.c -O2 -Wall\n';
    const block = Buffer.from(line.repeat(Math.ceil(65536 / line.length)));
    const s = new LineSplitter();
    const total = 50 * 1024 * 1024;
    let lines = 0;
    const t0 = process.hrtime.bigint();
    for (let done = 0; done < total; done += block.length) lines += s.push('o', block, done).length;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`      lineSplitter: ${(total / 1024 / 1024 / secs).toFixed(0)} MB/s (${lines} lines)`);
    expect(lines).to.be.greaterThan(400_000);
  });
});
