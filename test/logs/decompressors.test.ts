import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bunzip2 } from '../../lib/logs/bunzip2.js';
import { decodeLz4Block, decodeLz4Stored } from '../../lib/logs/lz4Block.js';
import { pythonHasLz4 } from './buildbotPython.js';

const PYTHON = '/usr/bin/python3';

/** Run python code with `data` on stdin; returns stdout bytes. */
function py(code: string, data: Buffer): Buffer {
  const r = spawnSync(PYTHON, ['-c', `import sys\n${code}`], { input: data, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

function requirePython(ctx: Mocha.Context): void {
  if (existsSync(PYTHON)) return;
  if (process.env.CI) throw new Error(`CI is set but ${PYTHON} is missing`);
  ctx.skip();
}

/** Pseudo-random but deterministic bytes with some structure (runs, text, noise). */
function sample(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let s = seed;
  for (let i = 0; i < size; ) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const kind = s % 3;
    const len = Math.min(size - i, 1 + (s >> 8) % 300);
    if (kind === 0) out.fill(s & 0xff, i, i + len); // a run: exercises both run-length stages
    else if (kind === 1) out.write('error: undefined reference to `foo`\n'.repeat(10).slice(0, len), i);
    else for (let k = 0; k < len; k++) out[i + k] = (s = (s * 1103515245 + 12345) & 0x7fffffff) >> 16;
    i += len;
  }
  return out;
}

describe('bunzip2', function () {
  it('decodes what Python bz2.compress wrote: empty, tiny, runs, multi-block, concatenated', function () {
    requirePython(this);
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['one byte', Buffer.from('x')],
      ['a long run', Buffer.alloc(100_000, 0x61)],
      ['text', Buffer.from('hello world\n'.repeat(1000))],
      ['mixed', sample(300_000, 3)],
    ];
    for (const [name, data] of cases) {
      const packed = py('import bz2; sys.stdout.buffer.write(bz2.compress(sys.stdin.buffer.read(), 9))', data);
      expect(bunzip2(packed).equals(data), name).to.equal(true);
    }
    const data = sample(450_000, 11);
    const multiBlock = py('import bz2; sys.stdout.buffer.write(bz2.compress(sys.stdin.buffer.read(), 1))', data);
    expect(bunzip2(multiBlock).equals(data), 'level 1: several 100k blocks').to.equal(true);
    const twoStreams = Buffer.concat([multiBlock, py('import bz2; sys.stdout.buffer.write(bz2.compress(b"tail", 9))', Buffer.alloc(0))]);
    expect(bunzip2(twoStreams).equals(Buffer.concat([data, Buffer.from('tail')]))).to.equal(true);
  });

  it('reports corrupt data clearly', function () {
    expect(() => bunzip2(Buffer.from('not bzip2'))).to.throw(/corrupt bz2 log chunk/);
    requirePython(this);
    const packed = py('import bz2; sys.stdout.buffer.write(bz2.compress(b"hello hello hello", 9))', Buffer.alloc(0));
    const bad = Buffer.from(packed);
    bad[bad.length - 12] ^= 0x55;
    expect(() => bunzip2(bad)).to.throw(/corrupt bz2 log chunk/);
  });
});

describe('lz4 block', function () {
  it('decodes a hand-made block with literals, an overlapping match and long lengths', function () {
    // "abc" then a match of 13 at offset 3 (overlapping), then literals "XY".
    const block = Buffer.from([0x39, 0x61, 0x62, 0x63, 0x03, 0x00, 0x20, 0x58, 0x59]);
    expect(decodeLz4Block(block, 18).toString()).to.equal('abcabcabcabcabcaXY');
    const stored = Buffer.concat([Buffer.from([18, 0, 0, 0]), block]);
    expect(decodeLz4Stored(stored).toString()).to.equal('abcabcabcabcabcaXY');
    // 20 literals need an extra length byte (15 + 5).
    const lit = Buffer.concat([Buffer.from([0xf0, 5]), Buffer.from('abcdefghijklmnopqrst')]);
    expect(decodeLz4Block(lit, 20).toString()).to.equal('abcdefghijklmnopqrst');
    expect(() => decodeLz4Block(block, 10)).to.throw(/corrupt lz4/);
  });

  it('decodes what python-lz4 lz4.block.compress wrote (Buildbot compressed=3)', function () {
    if (!pythonHasLz4()) this.skip(); // python3-lz4 is optional for Buildbot too
    for (const data of [Buffer.alloc(0), Buffer.from('x'), sample(200_000, 5), Buffer.alloc(70_000, 0x20)]) {
      const packed = py('import lz4.block; sys.stdout.buffer.write(lz4.block.compress(sys.stdin.buffer.read()))', data);
      expect(decodeLz4Stored(packed).equals(data)).to.equal(true);
    }
  });
});
