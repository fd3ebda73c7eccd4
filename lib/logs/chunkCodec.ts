import { promisify } from 'node:util';
import { deflate, deflateSync, inflate, inflateSync } from 'node:zlib';
import { BuildmasterError } from '../errors/index.js';
import { bunzip2 } from './bunzip2.js';
import { decodeLz4Stored } from './lz4Block.js';
import { decodeTimestamps, encodeTimestamps } from './timestampCodec.js';

/**
 * logchunks rows exactly as Buildbot 3.7 stores them (db/logs.py), so either master reads the
 * other's logs:
 * - a batch of lines is joined with "\n" (no final newline), UTF-8 encoded, and cut on line
 *   boundaries into chunks smaller than 64 KiB; a single line longer than that is truncated;
 * - first_line/last_line are 0-based and inclusive;
 * - content is zlib level 9 (`compressed = 1`, "gz") only when that is smaller, else raw (0).
 *   We read bz2 (2) and lz4 (3) too, but never write them.
 * Our addition: a nullable `timestamps` blob per row (see timestampCodec.ts).
 */

export const MAX_CHUNK_SIZE = 65536;
export const MAX_CHUNK_LINES = 1000;

export const COMPRESSION = { raw: 0, gz: 1, bz2: 2, lz4: 3 } as const;
export type WriteCompression = 'raw' | 'gz';

export interface LogChunkRow {
  first_line: number;
  last_line: number;
  content: Buffer;
  compressed: number;
  /** Per-line receive times (timestampCodec); null or absent for rows Buildbot wrote. */
  timestamps?: Buffer | null;
}

export interface EncodeOptions {
  /** 'gz' (Buildbot's default logCompressionMethod) or 'raw'. */
  compression?: WriteCompression;
  /** One entry per line, ms since epoch (null = unknown). Omit to store no timestamps. */
  timestamps?: readonly (number | null)[];
}

/** A chunk before compression: raw bytes and how many lines they hold. */
interface RawChunk {
  first_line: number;
  last_line: number;
  raw: Buffer;
  /** Index of the chunk's first line in the input array. */
  index: number;
  count: number;
}

const LF = 0x0a;

/**
 * Cut lines into chunks the way Buildbot's appendLog does. Differences, both where Buildbot
 * loses data: an empty last line is kept (Buildbot drops it when it falls right after a chunk
 * cut), and a batch of one empty line gets a row with empty content (Buildbot counts the line but
 * writes no row).
 */
function splitChunks(lines: readonly string[], firstLine: number): RawChunk[] {
  const chunks: RawChunk[] = [];
  if (lines.length === 0) return chunks;
  const content = Buffer.from(lines.join('\n'), 'utf8');
  let pos = 0;
  let index = 0;
  const push = (raw: Buffer, count: number): void => {
    chunks.push({ first_line: firstLine + index, last_line: firstLine + index + count - 1, raw, index, count });
    index += count;
  };
  while (index < lines.length) {
    if (content.length - pos < MAX_CHUNK_SIZE) {
      push(content.subarray(pos), lines.length - index);
      break;
    }
    const cut = content.lastIndexOf(LF, pos + MAX_CHUNK_SIZE - 1);
    if (cut >= pos) {
      const raw = content.subarray(pos, cut);
      push(raw, countNewlines(raw) + 1);
      pos = cut + 1;
      continue;
    }
    // One line of 64 KiB or more: keep its first 64 KiB (whole characters), drop the rest.
    push(content.subarray(pos, utf8Boundary(content, pos, pos + MAX_CHUNK_SIZE)), 1);
    const next = content.indexOf(LF, pos + MAX_CHUNK_SIZE);
    if (next < 0) break;
    pos = next + 1;
  }
  return chunks;
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(LF);
  while (i >= 0) {
    n++;
    i = buf.indexOf(LF, i + 1);
  }
  return n;
}

/** Largest end ≤ `end` that does not cut a UTF-8 sequence starting at or after `start`. */
function utf8Boundary(buf: Buffer, start: number, end: number): number {
  let k = end - 1;
  while (k > start && (buf[k] & 0xc0) === 0x80) k--;
  const lead = buf[k];
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return k + need > end ? k : end;
}

function chooseCompression(raw: Buffer, compressed: Buffer | null): { content: Buffer; compressed: number } {
  // Buildbot keeps the compressed form only when it is strictly smaller.
  if (compressed && compressed.length < raw.length) return { content: compressed, compressed: COMPRESSION.gz };
  return { content: Buffer.from(raw), compressed: COMPRESSION.raw };
}

function checkOptions(lines: readonly string[], opts: EncodeOptions): void {
  if (opts.timestamps && opts.timestamps.length !== lines.length) {
    throw new BuildmasterError(`${opts.timestamps.length} timestamps for ${lines.length} log lines`);
  }
  const c = opts.compression ?? 'gz';
  if (c !== 'gz' && c !== 'raw') throw new BuildmasterError(`cannot write log chunks compressed with '${c}'`);
}

function timestampsFor(opts: EncodeOptions, chunk: RawChunk): Buffer | null {
  if (!opts.timestamps) return null;
  return encodeTimestamps(opts.timestamps.slice(chunk.index, chunk.index + chunk.count));
}

/** Lines (without newlines) → logchunks rows starting at line `firstLine`. */
export function encodeChunks(lines: readonly string[], firstLine: number, opts: EncodeOptions = {}): LogChunkRow[] {
  checkOptions(lines, opts);
  const gz = (opts.compression ?? 'gz') === 'gz';
  return splitChunks(lines, firstLine).map((c) => ({
    first_line: c.first_line,
    last_line: c.last_line,
    ...chooseCompression(c.raw, gz ? deflateSync(c.raw, { level: 9 }) : null),
    timestamps: timestampsFor(opts, c),
  }));
}

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

/** encodeChunks, compressing on libuv's thread pool so the event loop stays free. */
export async function encodeChunksAsync(
  lines: readonly string[],
  firstLine: number,
  opts: EncodeOptions = {},
): Promise<LogChunkRow[]> {
  checkOptions(lines, opts);
  const gz = (opts.compression ?? 'gz') === 'gz';
  const chunks = splitChunks(lines, firstLine);
  const compressed = await Promise.all(chunks.map((c) => (gz ? deflateAsync(c.raw, { level: 9 }) : null)));
  return chunks.map((c, i) => ({
    first_line: c.first_line,
    last_line: c.last_line,
    ...chooseCompression(c.raw, compressed[i]),
    timestamps: timestampsFor(opts, c),
  }));
}

/** A row's content as stored → its raw UTF-8 bytes (lines joined by "\n"). */
export function decodeChunkContent(content: Buffer | Uint8Array | string, compressed: number): Buffer {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  switch (compressed) {
    case COMPRESSION.raw:
      return buf;
    case COMPRESSION.gz:
      return inflateSync(buf);
    case COMPRESSION.bz2:
      return bunzip2(buf);
    case COMPRESSION.lz4:
      return decodeLz4Stored(buf);
    default:
      throw new BuildmasterError(`unknown log chunk compression ${compressed}`);
  }
}

async function decodeChunkContentAsync(content: Buffer | Uint8Array | string, compressed: number): Promise<Buffer> {
  if (compressed === COMPRESSION.gz && typeof content !== 'string') return inflateAsync(content);
  return decodeChunkContent(content, compressed);
}

export interface LogLines {
  /** Number of the first line returned (the requested first line when it exists). */
  firstLine: number;
  lines: string[];
  /** One per line: ms since epoch when the master received it, null when unknown. */
  timestamps: (number | null)[];
}

type ReadableRow = Pick<LogChunkRow, 'first_line' | 'last_line' | 'compressed' | 'timestamps'> & {
  content: Buffer | Uint8Array | string;
};

/**
 * Lines firstLine..lastLine (inclusive) from the rows that cover them (any others are ignored),
 * trimmed like Buildbot's getLogLines.
 */
export function readLines(rows: readonly ReadableRow[], firstLine: number, lastLine: number): LogLines {
  const wanted = rows
    .filter((r) => r.first_line <= lastLine && r.last_line >= firstLine)
    .sort((a, b) => a.first_line - b.first_line);
  const result: LogLines = { firstLine: wanted.length ? Math.max(firstLine, wanted[0].first_line) : firstLine, lines: [], timestamps: [] };
  for (const row of wanted) {
    appendRow(result, row, decodeChunkContent(row.content, row.compressed), firstLine, lastLine);
  }
  return result;
}

/** readLines, inflating on the thread pool. */
export async function readLinesAsync(rows: readonly ReadableRow[], firstLine: number, lastLine: number): Promise<LogLines> {
  const wanted = rows
    .filter((r) => r.first_line <= lastLine && r.last_line >= firstLine)
    .sort((a, b) => a.first_line - b.first_line);
  const raws = await Promise.all(wanted.map((r) => decodeChunkContentAsync(r.content, r.compressed)));
  const result: LogLines = { firstLine: wanted.length ? Math.max(firstLine, wanted[0].first_line) : firstLine, lines: [], timestamps: [] };
  wanted.forEach((row, i) => appendRow(result, row, raws[i], firstLine, lastLine));
  return result;
}

function appendRow(result: LogLines, row: ReadableRow, raw: Buffer, firstLine: number, lastLine: number): void {
  const lines = raw.toString('utf8').split('\n');
  const stamps = row.timestamps ? decodeTimestamps(row.timestamps) : null;
  const skip = Math.max(0, firstLine - row.first_line);
  const end = lines.length - Math.max(0, row.last_line - lastLine);
  for (let i = skip; i < end; i++) {
    result.lines.push(lines[i]);
    result.timestamps.push(stamps && stamps.length === lines.length ? stamps[i] : null);
  }
}

/** Lines as Buildbot's getLogLines returns them: joined by "\n" with a final "\n" ('' if none). */
export function linesToText(lines: readonly string[]): string {
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Where a row is and how big it is stored: what planCompaction needs (no content). */
export interface ChunkExtent {
  first_line: number;
  last_line: number;
  /** Stored (possibly compressed) content length in bytes. */
  length: number;
}

/**
 * Buildbot's compressLog: find runs of consecutive rows worth merging into one, each run holding
 * at most 64 KiB of stored bytes and spanning at most 1000 lines past its first. A run of one row
 * is left alone unless `force` (cleanupdb), which recompresses everything. Unlike Buildbot, a
 * run never spans a gap in line numbers.
 */
export function planCompaction(
  extents: readonly ChunkExtent[],
  opts: { force?: boolean } = {},
): { first_line: number; last_line: number; chunks: number }[] {
  const sorted = [...extents].sort((a, b) => a.first_line - b.first_line);
  const groups: { first_line: number; last_line: number; chunks: number }[] = [];
  if (sorted.reduce((n, r) => n + r.length, 0) === 0) return groups;
  let first = sorted[0].first_line;
  let last = first;
  let length = 0;
  let count = 0;
  const close = (): void => {
    if (count > 1 || (opts.force && count > 0)) groups.push({ first_line: first, last_line: last, chunks: count });
  };
  for (const row of sorted) {
    // Never merge across a gap in line numbers (Buildbot writes one when it drops an empty line,
    // and its compressLog would then shift every later line).
    const gap = count > 0 && row.first_line !== last + 1;
    if (gap || length + row.length > MAX_CHUNK_SIZE || row.last_line - first > MAX_CHUNK_LINES) {
      close();
      first = row.first_line;
      length = 0;
      count = 0;
    }
    last = row.last_line;
    length += row.length;
    count++;
  }
  close();
  return groups;
}

/** Merge consecutive rows into one (content joined by "\n", recompressed; timestamps merged). */
export function mergeChunks(rows: readonly ReadableRow[], opts: { compression?: WriteCompression } = {}): LogChunkRow {
  const sorted = [...rows].sort((a, b) => a.first_line - b.first_line);
  if (sorted.length === 0) throw new BuildmasterError('mergeChunks needs at least one row');
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].first_line !== sorted[i - 1].last_line + 1) {
      throw new BuildmasterError(`log chunks are not contiguous at line ${sorted[i].first_line}`);
    }
  }
  const parts: Buffer[] = [];
  sorted.forEach((r, i) => {
    if (i > 0) parts.push(Buffer.from('\n'));
    parts.push(decodeChunkContent(r.content, r.compressed));
  });
  const raw = Buffer.concat(parts);
  const gz = (opts.compression ?? 'gz') === 'gz';
  let timestamps: Buffer | null = null;
  if (sorted.some((r) => r.timestamps)) {
    const all: (number | null)[] = [];
    for (const r of sorted) {
      const n = r.last_line - r.first_line + 1;
      const ts = r.timestamps ? decodeTimestamps(r.timestamps) : [];
      for (let i = 0; i < n; i++) all.push(ts.length === n ? ts[i] : null);
    }
    timestamps = encodeTimestamps(all);
  }
  return {
    first_line: sorted[0].first_line,
    last_line: sorted[sorted.length - 1].last_line,
    ...chooseCompression(raw, gz ? deflateSync(raw, { level: 9 }) : null),
    timestamps,
  };
}

/** A whole log's rows after compaction (in memory; the DB layer uses planCompaction + mergeChunks). */
export function compactChunks(rows: readonly LogChunkRow[], opts: { force?: boolean; compression?: WriteCompression } = {}): LogChunkRow[] {
  const sorted = [...rows].sort((a, b) => a.first_line - b.first_line);
  const plan = planCompaction(sorted.map((r) => ({ first_line: r.first_line, last_line: r.last_line, length: r.content.length })), opts);
  const out: LogChunkRow[] = [];
  let i = 0;
  for (const group of plan) {
    while (i < sorted.length && sorted[i].first_line < group.first_line) out.push(sorted[i++]);
    const members: LogChunkRow[] = [];
    while (i < sorted.length && sorted[i].last_line <= group.last_line) members.push(sorted[i++]);
    out.push(mergeChunks(members, opts));
  }
  while (i < sorted.length) out.push(sorted[i++]);
  return out;
}
