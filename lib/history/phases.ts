import type { Database } from '../db/connection.js';
import { getLogChunks, getLogs } from '../db/logs.js';
import { readLinesAsync } from '../logs/chunkCodec.js';

/**
 * Phases inside a step, from its log's per-line timestamps: a phase starts at a marker line
 * (a section header that build tools print) and ends where the next one starts, or at the last
 * timestamped line. Lines before the first marker form no phase.
 */

/** Section headers of common tools; the first capture group is the phase's name. */
export const DEFAULT_PHASE_MARKERS: readonly RegExp[] = [
  /^##\[group\](.+)$/, // Azure Pipelines
  /^::group::(.+)$/, // GitHub Actions
  /^={3,}\s*(.+?)\s*={3,}$/, // === name ===
  /^==>\s+(.+)$/, // makepkg, Homebrew
  /^> Task (:\S+)/, // Gradle
  /^-- (Configuring|Build files|Generating).*$/, // CMake
  /^\[phase\]\s*(.+)$/, // our own convention: echo "[phase] name"
];

export interface Phase {
  name: string;
  /** 1-based line of the marker. */
  line: number;
  /** ms since epoch. */
  start: number;
  end: number;
  durationMs: number;
}

/** Phases of lines with their timestamps (ms, null when unknown), first line `firstLine`. */
export function stepPhases(lines: readonly string[], timestamps: readonly (number | null)[], opts: { markers?: readonly RegExp[]; firstLine?: number } = {}): Phase[] {
  const markers = opts.markers ?? DEFAULT_PHASE_MARKERS;
  const first = opts.firstLine ?? 1;
  const phases: Phase[] = [];
  let last: number | null = null;
  const close = (at: number) => {
    const p = phases[phases.length - 1];
    if (p && p.end === -1) {
      p.end = Math.max(p.start, at);
      p.durationMs = p.end - p.start;
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const ts = timestamps[i] ?? null;
    if (ts === null) continue;
    const text = lines[i]!.trim();
    for (const re of markers) {
      const m = re.exec(text);
      if (!m) continue;
      close(ts);
      phases.push({ name: (m[1] ?? m[0]).trim(), line: first + i, start: ts, end: -1, durationMs: 0 });
      break;
    }
    last = ts;
  }
  if (last !== null) close(last);
  return phases;
}

/**
 * The phases of a step's first stdio log (Buildbot's 's' logs prefix each line with its channel:
 * o, e or h, which is dropped here). Empty when the step has no such log or its lines carry no
 * timestamps.
 */
export async function readStepPhases(db: Database, stepid: number, opts: { markers?: readonly RegExp[] } = {}): Promise<Phase[]> {
  const log = (await getLogs(db, stepid)).find((l) => l.type === 's' || l.type === 't');
  if (!log || Number(log.num_lines) === 0) return [];
  const last = Number(log.num_lines) - 1;
  const chunks = await getLogChunks(db, Number(log.id), 0, last);
  const { lines, timestamps, firstLine } = await readLinesAsync(chunks, 0, last);
  const text = log.type === 's' ? lines.map((l) => l.slice(1)) : lines;
  return stepPhases(text, timestamps, { markers: opts.markers, firstLine: firstLine + 1 });
}
