import { BuildmasterError } from '../errors/index.js';

/**
 * Decode what Buildbot stores for `compressed = 3`: python-lz4's `lz4.block.compress(data)`, i.e.
 * a 4-byte little-endian uncompressed size followed by one LZ4 block (no frame header).
 * Read-only: we never write lz4 chunks.
 */
export function decodeLz4Stored(data: Buffer): Buffer {
  if (data.length < 4) throw new BuildmasterError('lz4 log chunk too short');
  const size = data.readUInt32LE(0);
  return decodeLz4Block(data.subarray(4), size);
}

/** Decode one raw LZ4 block whose decoded size is known. */
export function decodeLz4Block(src: Buffer, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let ip = 0;
  let op = 0;
  const fail = (why: string): never => {
    throw new BuildmasterError(`corrupt lz4 log chunk: ${why}`);
  };
  while (ip < src.length) {
    const token = src[ip++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= src.length) fail('truncated literal length');
        b = src[ip++];
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > src.length || op + literals > size) fail('literals overrun');
    src.copy(out, op, ip, ip + literals);
    ip += literals;
    op += literals;
    if (ip >= src.length) break; // the last sequence has literals only
    if (ip + 2 > src.length) fail('truncated offset');
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) fail('bad match offset');
    let match = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= src.length) fail('truncated match length');
        b = src[ip++];
        match += b;
      } while (b === 255);
    }
    if (op + match > size) fail('match overrun');
    // Matches may overlap their own output (offset < length), so copy forwards byte by byte then.
    let from = op - offset;
    if (offset >= match) {
      out.copy(out, op, from, from + match);
      op += match;
    } else {
      for (let k = 0; k < match; k++) out[op++] = out[from++];
    }
  }
  if (op !== size) fail(`decoded ${op} bytes, expected ${size}`);
  return out;
}
