import { BuildmasterError } from '../errors/index.js';

/**
 * A small bzip2 decompressor, for reading Buildbot log chunks stored with `compressed = 2`
 * (`bz2.compress(data, 9)`). Node has no bzip2, and these chunks are rare and small, so a plain
 * implementation of the format is enough. Read-only: we never write bz2 chunks. Verifies block and
 * stream CRCs; accepts concatenated streams like Python's bz2.decompress.
 */

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const EOS_MAGIC_HI = 0x177245;
const EOS_MAGIC_LO = 0x385090;
const GROUP_SIZE = 50;
const MAX_CODE_LEN = 20;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function fail(why: string): never {
  throw new BuildmasterError(`corrupt bz2 log chunk: ${why}`);
}

class BitReader {
  private pos = 0;
  private acc = 0;
  private bits = 0;
  constructor(private readonly buf: Buffer) {}

  read(n: number): number {
    let v = 0;
    while (n > 0) {
      if (this.bits === 0) {
        if (this.pos >= this.buf.length) fail('unexpected end of data');
        this.acc = this.buf[this.pos++];
        this.bits = 8;
      }
      const take = Math.min(n, this.bits);
      const shift = this.bits - take;
      v = v * (1 << take) + ((this.acc >>> shift) & ((1 << take) - 1));
      this.bits -= take;
      n -= take;
    }
    return v;
  }

  bit(): number {
    return this.read(1);
  }

  alignToByte(): void {
    this.bits = 0;
  }

  atEnd(): boolean {
    return this.bits === 0 && this.pos >= this.buf.length;
  }
}

/** Canonical Huffman table: symbols sorted by (length, value), and the count per length. */
interface Huffman {
  counts: Int32Array;
  symbols: Int32Array;
}

function buildHuffman(lengths: Uint8Array, alphaSize: number): Huffman {
  const counts = new Int32Array(MAX_CODE_LEN + 1);
  for (let i = 0; i < alphaSize; i++) counts[lengths[i]]++;
  const offsets = new Int32Array(MAX_CODE_LEN + 2);
  for (let len = 1; len <= MAX_CODE_LEN; len++) offsets[len + 1] = offsets[len] + counts[len];
  const symbols = new Int32Array(alphaSize);
  for (let i = 0; i < alphaSize; i++) symbols[offsets[lengths[i]]++] = i;
  return { counts, symbols };
}

function decodeSymbol(br: BitReader, h: Huffman): number {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= MAX_CODE_LEN; len++) {
    code |= br.bit();
    const count = h.counts[len];
    if (code - first < count) return h.symbols[index + code - first];
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return fail('bad Huffman code');
}

export function bunzip2(data: Buffer): Buffer {
  const br = new BitReader(data);
  const parts: Buffer[] = [];
  do {
    if (br.read(8) !== 0x42 || br.read(8) !== 0x5a || br.read(8) !== 0x68) fail('not a bzip2 stream');
    const level = br.read(8) - 0x30;
    if (level < 1 || level > 9) fail('bad block size');
    const maxBlock = level * 100000;
    let streamCrc = 0;
    for (;;) {
      const hi = br.read(24);
      const lo = br.read(24);
      const crc = br.read(32) >>> 0;
      if (hi === EOS_MAGIC_HI && lo === EOS_MAGIC_LO) {
        if (crc !== streamCrc >>> 0) fail('stream CRC mismatch');
        br.alignToByte();
        break;
      }
      if (hi !== BLOCK_MAGIC_HI || lo !== BLOCK_MAGIC_LO) fail('bad block magic');
      const block = decodeBlock(br, maxBlock);
      if (blockCrc(block) !== crc) fail('block CRC mismatch');
      streamCrc = (((streamCrc << 1) | (streamCrc >>> 31)) ^ crc) >>> 0;
      parts.push(block);
    }
  } while (!br.atEnd());
  return Buffer.concat(parts);
}

function blockCrc(block: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < block.length; i++) c = (c << 8) ^ CRC_TABLE[((c >>> 24) ^ block[i]) & 0xff];
  return ~c >>> 0;
}

function decodeBlock(br: BitReader, maxBlock: number): Buffer {
  if (br.bit()) fail('randomised blocks are not supported');
  const origPtr = br.read(24);

  // Which byte values occur: 16 groups of 16.
  const seqToUnseq: number[] = [];
  const used = br.read(16);
  for (let i = 0; i < 16; i++) {
    if (!(used & (0x8000 >>> i))) continue;
    const bits = br.read(16);
    for (let j = 0; j < 16; j++) if (bits & (0x8000 >>> j)) seqToUnseq.push(i * 16 + j);
  }
  if (seqToUnseq.length === 0) fail('empty symbol map');
  const alphaSize = seqToUnseq.length + 2;
  const eob = alphaSize - 1;

  const nGroups = br.read(3);
  if (nGroups < 2 || nGroups > 6) fail('bad number of Huffman groups');
  const nSelectors = br.read(15);
  if (nSelectors < 1) fail('no selectors');
  const mtfGroups = [0, 1, 2, 3, 4, 5].slice(0, nGroups);
  const selectors = new Uint8Array(nSelectors);
  for (let i = 0; i < nSelectors; i++) {
    let j = 0;
    while (br.bit()) if (++j >= nGroups) fail('bad selector');
    const g = mtfGroups[j];
    mtfGroups.splice(j, 1);
    mtfGroups.unshift(g);
    selectors[i] = g;
  }

  const tables: Huffman[] = [];
  const lengths = new Uint8Array(alphaSize);
  for (let g = 0; g < nGroups; g++) {
    let len = br.read(5);
    for (let s = 0; s < alphaSize; s++) {
      for (;;) {
        if (len < 1 || len > MAX_CODE_LEN) fail('bad code length');
        if (!br.bit()) break;
        len += br.bit() ? -1 : 1;
      }
      lengths[s] = len;
    }
    tables.push(buildHuffman(lengths, alphaSize));
  }

  // Huffman → MTF/RLE2 → the BWT's last column (ll), counting each byte value.
  const ll = new Uint8Array(maxBlock);
  const byteCount = new Int32Array(256);
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  let n = 0;
  let run = 0;
  let runWeight = 1;
  let groupLeft = 0;
  let selector = 0;
  let table = tables[0];
  for (;;) {
    if (groupLeft === 0) {
      if (selector >= nSelectors) fail('ran out of selectors');
      table = tables[selectors[selector++]];
      groupLeft = GROUP_SIZE;
    }
    groupLeft--;
    const sym = decodeSymbol(br, table);
    if (sym <= 1) {
      // RUNA/RUNB: a bijective base-2 count of repeats of the front byte.
      run += (sym + 1) * runWeight;
      runWeight *= 2;
      if (run > maxBlock) fail('run too long');
      continue;
    }
    if (run > 0) {
      if (n + run > maxBlock) fail('block overflow');
      const b = seqToUnseq[mtf[0]];
      byteCount[b] += run;
      ll.fill(b, n, n + run);
      n += run;
      run = 0;
      runWeight = 1;
    }
    if (sym === eob) break;
    if (n >= maxBlock) fail('block overflow');
    const idx = sym - 1;
    const v = mtf[idx];
    mtf.copyWithin(1, 0, idx);
    mtf[0] = v;
    const b = seqToUnseq[v];
    byteCount[b]++;
    ll[n++] = b;
  }
  if (origPtr >= n) fail('bad BWT origin');

  // Inverse BWT: tt[i] holds the byte (low 8 bits) and the link to the next position.
  const tt = new Uint32Array(n);
  const start = new Int32Array(256);
  for (let i = 1; i < 256; i++) start[i] = start[i - 1] + byteCount[i - 1];
  for (let i = 0; i < n; i++) tt[i] = ll[i];
  for (let i = 0; i < n; i++) {
    const b = ll[i];
    tt[start[b]++] |= i << 8;
  }
  const bwt = Buffer.allocUnsafe(n);
  let p = tt[origPtr] >>> 8;
  for (let i = 0; i < n; i++) {
    const e = tt[p];
    bwt[i] = e & 0xff;
    p = e >>> 8;
  }

  // Undo the initial run-length encoding: 4 equal bytes are followed by a repeat count.
  const out: Buffer[] = [];
  let outBuf = Buffer.allocUnsafe(n * 2 + 16);
  let o = 0;
  let last = -1;
  let same = 0;
  for (let i = 0; i < n; i++) {
    const b = bwt[i];
    if (same === 4) {
      if (o + b > outBuf.length) {
        out.push(outBuf.subarray(0, o));
        outBuf = Buffer.allocUnsafe(Math.max(n * 2, b + 16));
        o = 0;
      }
      outBuf.fill(last, o, o + b);
      o += b;
      same = 0;
      last = -1;
      continue;
    }
    if (b === last) same++;
    else {
      last = b;
      same = 1;
    }
    if (o >= outBuf.length) {
      out.push(outBuf.subarray(0, o));
      outBuf = Buffer.allocUnsafe(n * 2 + 16);
      o = 0;
    }
    outBuf[o++] = b;
  }
  out.push(outBuf.subarray(0, o));
  return out.length === 1 ? out[0] : Buffer.concat(out);
}
