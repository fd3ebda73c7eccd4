/**
 * Streaming line splitter with Buildbot's util/lineboundaries.py semantics, one state per channel.
 *
 * A line ends at `\n`, `\r\n`, a `\r` followed by anything else, a run of `\b`, or one of the
 * ANSI cursor moves `ESC[u`, `ESC[<n>;<m>H|f`, `ESC[2J`. Lines longer than 4096 characters are cut
 * into 4096-character pieces. Unlike Buildbot, the result never depends on how the bytes were
 * chunked: a boundary sequence (`\r\n`, an escape, a `\b` run, a multi-byte UTF-8 character) that
 * straddles two pushes is recognised as if it had arrived whole.
 *
 * Work is done on bytes (every boundary byte is ASCII, so it never occurs inside a UTF-8 sequence);
 * only complete lines are decoded, so a character split between pushes survives, and invalid bytes
 * become U+FFFD.
 */

/** Stdio channel prefixes as stored in `s` logs: stdout, stderr, header. */
export type StdioChannel = 'o' | 'e' | 'h';

export interface SplitLine {
  channel: string;
  text: string;
  /** When the master received the line's first byte (ms since epoch, as passed to `push`). */
  ts: number;
}

export interface LineSplitterOptions {
  /** Longest line in characters (code points); Buildbot's MAX_LINELENGTH. */
  maxLineLength?: number;
  /**
   * Applied to every complete line before it is cut to maxLineLength (the secret masker plugs in
   * here, so a secret is masked even when it crossed a chunk boundary).
   */
  transform?: (line: string) => string;
  /**
   * A partial line is held until it ends; past this many bytes it is emitted in pieces of
   * maxLineLength characters so that memory stays bounded.
   */
  maxHoldBytes?: number;
}

export const MAX_LINE_LENGTH = 4096;
const DEFAULT_MAX_HOLD_BYTES = 64 * 1024;
// An escape sequence still incomplete after this many bytes is plain text.
const MAX_ESCAPE_BYTES = 32;

const LF = 0x0a;
const CR = 0x0d;
const ESC = 0x1b;
const BS = 0x08;

const EMPTY = Buffer.alloc(0);

/** Partial-line state of one channel. */
class ChannelState {
  acc: Buffer = EMPTY;
  len = 0;
  /** Bytes before this offset are plain content already scanned: no boundary starts there. */
  scanFrom = 0;
  /** Where each push's bytes start in acc, and when it arrived; markOff[0] is always 0. */
  markOff: number[] = [];
  markTs: number[] = [];
  /** The previous push ended inside a run of `\b`: swallow the rest of the run. */
  inBackspaceRun = false;

  append(data: Buffer, start: number, ts: number): void {
    const n = data.length - start;
    if (this.len + n > this.acc.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.len + n, this.acc.length * 2, 256));
      this.acc.copy(grown, 0, 0, this.len);
      this.acc = grown;
    }
    data.copy(this.acc, this.len, start);
    this.markOff.push(this.len);
    this.markTs.push(ts);
    this.len += n;
  }

  /** Arrival time of the byte at `off`. */
  tsAt(off: number): number {
    let i = this.markOff.length - 1;
    while (i > 0 && this.markOff[i] > off) i--;
    return this.markTs[i];
  }

  /** Drop the first `n` bytes (already emitted). */
  consume(n: number): void {
    if (n === 0) return;
    if (n >= this.len) {
      this.reset();
      return;
    }
    this.acc.copy(this.acc, 0, n, this.len);
    this.len -= n;
    this.scanFrom = Math.max(0, this.scanFrom - n);
    let keep = this.markOff.length - 1;
    while (keep > 0 && this.markOff[keep] > n) keep--;
    this.markOff = this.markOff.slice(keep).map((o) => Math.max(0, o - n));
    this.markTs = this.markTs.slice(keep);
  }

  reset(): void {
    this.len = 0;
    this.scanFrom = 0;
    this.markOff = [];
    this.markTs = [];
    if (this.acc.length > DEFAULT_MAX_HOLD_BYTES * 2) this.acc = EMPTY;
  }
}

/**
 * Match an escape sequence at buf[i] (an ESC). Returns its length if it is a line boundary, 0 if
 * the ESC is plain text, -1 if more bytes are needed to decide.
 */
function matchEscape(buf: Buffer, i: number, end: number): number {
  if (i + 1 >= end) return -1;
  if (buf[i + 1] !== 0x5b /* [ */) return 0;
  if (i + 2 >= end) return -1;
  if (buf[i + 2] === 0x75 /* u */) return 3;
  let j = i + 2;
  while (j < end && buf[j] >= 0x30 && buf[j] <= 0x39) j++;
  if (j === i + 2) return 0;
  if (j >= end) return j - i > MAX_ESCAPE_BYTES ? 0 : -1;
  if (buf[j] === 0x4a /* J */) return j === i + 3 && buf[i + 2] === 0x32 ? 4 : 0;
  if (buf[j] !== 0x3b /* ; */) return 0;
  let k = j + 1;
  while (k < end && buf[k] >= 0x30 && buf[k] <= 0x39) k++;
  if (k >= end) return k - i > MAX_ESCAPE_BYTES ? 0 : -1;
  if (k === j + 1) return 0;
  return buf[k] === 0x48 /* H */ || buf[k] === 0x66 /* f */ ? k + 1 - i : 0;
}

/** Cut `text` into pieces of at most `max` code points. */
export function splitLongLine(text: string, max: number = MAX_LINE_LENGTH): string[] {
  if (text.length <= max) return [text];
  if (!/[\uD800-\uDFFF]/.test(text)) {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += max) out.push(text.slice(i, i + max));
    return out;
  }
  const out: string[] = [];
  let start = 0;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (count === max) {
      out.push(text.slice(start, i));
      start = i;
      count = 0;
    }
    // A surrogate pair is one code point: step over its low half.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    count++;
  }
  out.push(text.slice(start));
  return out;
}

export class LineSplitter {
  private readonly channels = new Map<string, ChannelState>();
  private readonly maxLineLength: number;
  private readonly maxHoldBytes: number;
  private readonly transform?: (line: string) => string;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? MAX_LINE_LENGTH;
    this.maxHoldBytes = Math.max(options.maxHoldBytes ?? DEFAULT_MAX_HOLD_BYTES, this.maxLineLength * 4);
    this.transform = options.transform;
  }

  /** Feed bytes received on `channel` at `nowMs`; returns the lines they completed, in order. */
  push(channel: string, data: Buffer | string, nowMs: number): SplitLine[] {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const out: SplitLine[] = [];
    const st = this.state(channel);
    let start = 0;
    if (st.inBackspaceRun) {
      while (start < bytes.length && bytes[start] === BS) start++;
      if (start === bytes.length) return out;
      st.inBackspaceRun = false;
    }
    if (st.len === 0) {
      // Fast path: nothing held, scan the caller's buffer in place.
      const used = this.scan(channel, st, bytes, start, bytes.length, start, nowMs, null, out);
      if (used < bytes.length) {
        st.append(bytes, used, nowMs);
        st.scanFrom = st.scanFrom - used;
      }
    } else {
      st.append(bytes, start, nowMs);
      const used = this.scan(channel, st, st.acc, 0, st.len, st.scanFrom, nowMs, st, out);
      st.consume(used);
    }
    if (st.len > this.maxHoldBytes) this.emitHeldPieces(channel, st, out);
    return out;
  }

  /** End of input on one channel (or all): emit the partial line, if any. */
  flush(channel?: string): SplitLine[] {
    const out: SplitLine[] = [];
    const names = channel === undefined ? [...this.channels.keys()] : [channel];
    for (const name of names) {
      const st = this.channels.get(name);
      if (!st) continue;
      st.inBackspaceRun = false;
      if (st.len === 0) continue;
      // Buildbot flushes by appending "\n", so a final "\r" becomes part of a "\r\n".
      const end = st.acc[st.len - 1] === CR ? st.len - 1 : st.len;
      this.emit(name, st.acc, 0, end, st.tsAt(0), out);
      st.reset();
    }
    return out;
  }

  /** True when some channel holds a partial line. */
  hasPartial(): boolean {
    for (const st of this.channels.values()) if (st.len > 0) return true;
    return false;
  }

  private state(channel: string): ChannelState {
    let st = this.channels.get(channel);
    if (!st) {
      st = new ChannelState();
      this.channels.set(channel, st);
    }
    return st;
  }

  /**
   * Emit every complete line in buf[start, end). Returns the offset of the first byte not yet
   * emitted (the start of the partial line) and leaves st.scanFrom at the offset where the next
   * scan must resume. `held` is the state whose acc is buf (for arrival times), or null when buf
   * is fresh data that all arrived at nowMs.
   */
  private scan(
    channel: string,
    st: ChannelState,
    buf: Buffer,
    start: number,
    end: number,
    scanFrom: number,
    nowMs: number,
    held: ChannelState | null,
    out: SplitLine[],
  ): number {
    const view = end === buf.length ? buf : buf.subarray(0, end);
    let lineStart = start;
    let pos = scanFrom;
    // Next position of each boundary byte; recomputed only once passed, so the scan is linear.
    let nLF = -2;
    let nCR = -2;
    let nESC = -2;
    let nBS = -2;
    const next = (b: number): number => {
      const i = view.indexOf(b, pos);
      return i < 0 ? end : i;
    };
    for (;;) {
      if (nLF < pos) nLF = next(LF);
      if (nCR < pos) nCR = next(CR);
      if (nESC < pos) nESC = next(ESC);
      if (nBS < pos) nBS = next(BS);
      const i = Math.min(nLF, nCR, nESC, nBS);
      if (i >= end) {
        st.scanFrom = end;
        return lineStart;
      }
      const ts = held ? held.tsAt(lineStart) : nowMs;
      const c = buf[i];
      if (c === LF) {
        this.emit(channel, buf, lineStart, i, ts, out);
        lineStart = pos = i + 1;
      } else if (c === CR) {
        if (i + 1 >= end) {
          st.scanFrom = i; // a final \r waits: it may be the first half of \r\n
          return lineStart;
        }
        this.emit(channel, buf, lineStart, i, ts, out);
        lineStart = pos = buf[i + 1] === LF ? i + 2 : i + 1;
      } else if (c === BS) {
        this.emit(channel, buf, lineStart, i, ts, out);
        let j = i + 1;
        while (j < end && buf[j] === BS) j++;
        if (j >= end) st.inBackspaceRun = true;
        lineStart = pos = j;
      } else {
        const m = matchEscape(buf, i, end);
        if (m < 0) {
          st.scanFrom = i;
          return lineStart;
        }
        if (m === 0) {
          pos = i + 1; // plain ESC, part of the line
        } else {
          this.emit(channel, buf, lineStart, i, ts, out);
          lineStart = pos = i + m;
        }
      }
    }
  }

  private emit(channel: string, buf: Buffer, start: number, end: number, ts: number, out: SplitLine[]): void {
    let text = buf.toString('utf8', start, end);
    if (this.transform) text = this.transform(text);
    if (text.length <= this.maxLineLength) {
      out.push({ channel, text, ts });
      return;
    }
    for (const piece of splitLongLine(text, this.maxLineLength)) out.push({ channel, text: piece, ts });
  }

  /**
   * The held partial line grew past maxHoldBytes: emit its scanned part in whole pieces of
   * maxLineLength characters, keeping the remainder (shorter than one piece) held.
   */
  private emitHeldPieces(channel: string, st: ChannelState, out: SplitLine[]): void {
    const limit = st.scanFrom;
    let pieceStart = 0;
    let count = 0;
    let continuation = 0;
    for (let i = 0; i < limit; i++) {
      // A character starts at every byte that is not a UTF-8 continuation byte; a run of more
      // than three continuation bytes is invalid and each extra byte counts as one (U+FFFD).
      if ((st.acc[i] & 0xc0) === 0x80 && continuation < 3) {
        continuation++;
        continue;
      }
      continuation = 0;
      if (count === this.maxLineLength) {
        this.emit(channel, st.acc, pieceStart, i, st.tsAt(pieceStart), out);
        pieceStart = i;
        count = 0;
      }
      count++;
    }
    st.consume(pieceStart);
  }
}
