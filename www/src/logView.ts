/**
 * One log, shown line by line with the time the master received each line; lines the history
 * analyzer recorded as errors (or that look like errors while the step runs) are highlighted, and
 * every line has an anchor (#log-<logid>-L<n>, 1-based like the analyzer's numbers).
 * `refresh()` reads only the lines after those already shown, so a running step's log grows live.
 */
import { get } from './api.js';
import { h, replace } from './dom.js';
import type { LiveEvents } from './live.js';
import type { Log, LogLine } from './types.js';

/** The payload of a `logs/<id>/append` live event (lib/logs/logWriter.ts). */
interface LogAppend {
  logid: number;
  firstLine: number;
  lines: string[];
  timestamps: (number | null)[];
}

const PAGE = 1000;
/** A log longer than this opens at its end (the earlier lines load on request): pages stay fast. */
export const TAIL_LINES = 5000;
/** While a step runs (before the analyzer has read its log): a line that plainly reports an error. */
const LOOKS_LIKE_ERROR = /(^|[\s:[(])(error|fatal|FAILED|FAIL|Traceback)\b|\berror:|\bERROR\b/;

export function lineAnchor(logid: number, line1: number): string {
  return `log-${logid}-L${line1}`;
}

function timeOf(ms: number | null): string {
  if (ms === null) return '';
  return new Date(ms).toISOString().slice(11, 23);
}

export class LogView {
  readonly el: HTMLElement;
  private readonly lines: HTMLElement;
  private readonly errorList: HTMLElement;
  private readonly earlier: HTMLElement;
  /** First line (0-based) in the view, and the line after the last one shown. */
  private start = 0;
  private shown = 0;
  private errorLines = new Set<number>();
  private knownErrors = new Set<number>();

  constructor(private log: Log) {
    this.lines = h('div', { class: 'log-lines' });
    this.errorList = h('div', { class: 'log-errors' });
    this.earlier = h('div', { class: 'log-earlier' });
    if (log.num_lines > TAIL_LINES) {
      this.start = this.shown = log.num_lines - TAIL_LINES;
      this.drawEarlier();
    }
    this.el = h(
      'section',
      { class: 'log', 'data-logid': log.logid },
      h('div', { class: 'log-head' }, h('strong', {}, log.name), ' ', h('a', { href: `/api/v2/logs/${log.logid}/raw`, class: 'muted' }, 'raw')),
      this.errorList,
      this.earlier,
      this.lines,
    );
  }

  private drawEarlier(): void {
    if (this.start === 0) return replace(this.earlier);
    replace(
      this.earlier,
      h('button', { type: 'button', class: 'link', onclick: () => void this.loadEarlier() }, `show the ${this.start} earlier lines`),
    );
  }

  /** Prepend lines 0..start-1 (the reader asked for the whole log). */
  private async loadEarlier(): Promise<void> {
    const frag = document.createDocumentFragment();
    for (let first = 0; first < this.start; first += PAGE) {
      const body = await get<{ lines: LogLine[] }>(`logs/${this.log.logid}/lines`, { offset: first, limit: Math.min(PAGE, this.start - first) });
      for (const l of body.lines) frag.appendChild(this.lineEl(l));
      if (body.lines.length === 0) break;
    }
    this.lines.insertBefore(frag, this.lines.firstChild);
    this.start = 0;
    this.drawEarlier();
    for (const n of this.knownErrors) this.flag(n);
  }

  /**
   * Take the log's lines as they are written (live events); the REST reads in refresh() still fill
   * any gap (lines written before the subscription, a dropped stream).
   */
  async follow(live: LiveEvents): Promise<void> {
    if (this.log.complete) return;
    const ok = await live.listen(`logs/${this.log.logid}/append`, (_key, message) => {
      const m = message as LogAppend;
      this.append(m.firstLine, m.lines, m.timestamps);
    });
    if (ok) this.el.dataset.live = 'sse';
  }

  /** The log is finished (no line will be added). */
  get complete(): boolean {
    return this.log.complete;
  }

  /** Finished, and every line shown. */
  get done(): boolean {
    return this.log.complete && this.shown >= this.log.num_lines;
  }

  /** The log's latest state from the API (its line count grows while the step runs). */
  update(log: Log): void {
    this.log = log;
  }

  /** Error lines the history analyzer recorded (1-based line numbers). */
  markErrors(lines: number[]): void {
    for (const n of lines) this.knownErrors.add(n);
    for (const n of lines) this.flag(n);
  }

  /** Read the lines written since the last read (as far as the last update() said). */
  async refresh(): Promise<void> {
    const total = this.log.num_lines;
    while (this.shown < total) {
      const body = await get<{ lines: LogLine[] }>(`logs/${this.log.logid}/lines`, { offset: this.shown, limit: PAGE });
      if (body.lines.length === 0) break;
      const first = body.lines[0]!.line;
      const before = this.shown;
      this.append(first, body.lines.map((l) => l.content), body.lines.map((l) => l.timestamp));
      if (this.shown === before) break;
    }
  }

  /**
   * Lines firstLine.. (0-based) from either source: only those after the ones shown are added, and
   * a batch that starts past them waits for the REST read to fill the gap.
   */
  private append(firstLine: number, lines: string[], timestamps: (number | null)[]): void {
    if (firstLine > this.shown) return;
    const skip = this.shown - firstLine;
    if (skip >= lines.length) return;
    const atBottom = this.lines.scrollTop + this.lines.clientHeight >= this.lines.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    for (let i = skip; i < lines.length; i++) frag.appendChild(this.lineEl({ logid: this.log.logid, line: firstLine + i, content: lines[i]!, timestamp: timestamps[i] ?? null }));
    this.lines.appendChild(frag);
    this.shown = firstLine + lines.length;
    // Follow the end while the reader is there (as tail -f), not when they scrolled up to read.
    if (atBottom) this.lines.scrollTop = this.lines.scrollHeight;
  }

  private lineEl(l: LogLine): HTMLElement {
    const n = l.line + 1;
    let text = l.content;
    let channel = '';
    if (this.log.type === 's' && text.length > 0) {
      channel = text[0]!;
      text = text.slice(1);
    }
    const id = lineAnchor(this.log.logid, n);
    const el = h(
      'div',
      { class: `line${channel === 'e' ? ' stderr' : channel === 'h' ? ' header' : ''}`, id },
      h('a', { class: 'ln', href: `#${id}` }, String(n)),
      h('span', { class: 'ts' }, timeOf(l.timestamp)),
      h('span', { class: 'text' }, text),
    );
    if (channel !== 'h' && (this.knownErrors.has(n) || LOOKS_LIKE_ERROR.test(text))) {
      el.classList.add('err');
      this.errorLines.add(n);
      this.drawErrors();
    }
    return el;
  }

  /** Show line n (1-based), loading the earlier lines first when it is among them. */
  async reveal(n: number): Promise<void> {
    const details = this.el.closest('details');
    if (details) details.open = true;
    if (!this.done) await this.refresh();
    if (n - 1 < this.start) await this.loadEarlier();
    const id = lineAnchor(this.log.logid, n);
    if (location.hash === `#${id}`) document.getElementById(id)?.scrollIntoView();
    else location.hash = id;
  }

  /** A link to line n that works whether or not the line is loaded yet. */
  lineLink(n: number, text: string): HTMLAnchorElement {
    return h('a', {
      href: `#${lineAnchor(this.log.logid, n)}`,
      onclick: (e: Event) => {
        e.preventDefault();
        void this.reveal(n);
      },
    }, text);
  }

  private flag(n: number): void {
    const el = document.getElementById(lineAnchor(this.log.logid, n));
    if (el) el.classList.add('err');
    if (!this.errorLines.has(n)) {
      this.errorLines.add(n);
      this.drawErrors();
    }
  }

  private drawErrors(): void {
    const ns = [...this.errorLines].sort((a, b) => a - b);
    const shown = ns.slice(0, 20);
    replace(
      this.errorList,
      ns.length
        ? h('span', { class: 'err-summary' }, `${ns.length} error line${ns.length === 1 ? '' : 's'}: `, ...shown.flatMap((n) => [this.lineLink(n, String(n)), ' ']), ns.length > shown.length ? '…' : '')
        : null,
    );
  }
}
