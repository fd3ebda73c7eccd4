import { deflateSync, inflateSync } from 'node:zlib';
import { BuildmasterError } from '../errors/index.js';

/**
 * Per-line receive times of one log chunk, stored in our extra nullable logchunks column.
 *
 * Layout (then zlib-compressed as a whole):
 *   byte 0        format version (1)
 *   varint        number of lines
 *   varint × n    0 = no timestamp for this line, otherwise zigzag(ms − previous ms) + 1, where
 *                 "previous" is the last line that had one (0 before the first)
 *
 * Lines of a dense log arrive within milliseconds of each other, so most deltas are one byte and
 * compress further; a chunk of 1000 lines typically costs a few dozen bytes. Deltas may be
 * negative: an `s` log interleaves channels, and a line is stamped with its first byte's arrival.
 */

const FORMAT_VERSION = 1;

export function encodeTimestamps(timestamps: readonly (number | null | undefined)[]): Buffer {
  // At most 8 bytes per value (safe integers fit in 53 bits), plus version and count.
  const out = Buffer.allocUnsafe(timestamps.length * 8 + 16);
  out[0] = FORMAT_VERSION;
  let pos = writeVarint(out, 1, timestamps.length);
  let prev = 0;
  for (const t of timestamps) {
    if (t === null || t === undefined) {
      out[pos++] = 0;
      continue;
    }
    if (!Number.isSafeInteger(t)) throw new BuildmasterError(`log timestamp is not an integer of ms: ${t}`);
    const delta = t - prev;
    const code = (delta >= 0 ? delta * 2 : -delta * 2 - 1) + 1;
    if (!Number.isSafeInteger(code)) throw new BuildmasterError(`log timestamp out of range: ${t}`);
    pos = writeVarint(out, pos, code);
    prev = t;
  }
  return deflateSync(out.subarray(0, pos), { level: 9 });
}

export function decodeTimestamps(blob: Buffer | Uint8Array): (number | null)[] {
  const buf = inflateSync(blob);
  if (buf[0] !== FORMAT_VERSION) {
    throw new BuildmasterError(`unknown log timestamps format ${buf[0]}`);
  }
  const pos = { i: 1 };
  const n = readVarint(buf, pos);
  const out: (number | null)[] = new Array(n);
  let prev = 0;
  for (let k = 0; k < n; k++) {
    const v = readVarint(buf, pos);
    if (v === 0) {
      out[k] = null;
      continue;
    }
    const z = v - 1;
    // Zigzag decoding by arithmetic: values exceed 32 bits (ms since 1970).
    const delta = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    prev += delta;
    out[k] = prev;
  }
  return out;
}

function writeVarint(out: Buffer, pos: number, value: number): number {
  let v = value;
  // Bit operations only below 2^31; larger values (absolute ms) need arithmetic.
  while (v >= 0x80) {
    out[pos++] = v < 0x80000000 ? (v & 0x7f) | 0x80 : (v % 0x80) | 0x80;
    v = v < 0x80000000 ? v >>> 7 : Math.floor(v / 0x80);
  }
  out[pos++] = v;
  return pos;
}

function readVarint(buf: Buffer, pos: { i: number }): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    if (pos.i >= buf.length) throw new BuildmasterError('truncated log timestamps');
    const b = buf[pos.i++];
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 0x80;
    if (scale > 2 ** 56) throw new BuildmasterError('corrupt log timestamps');
  }
}
