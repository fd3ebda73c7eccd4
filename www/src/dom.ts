/** DOM helpers and the formatting every page shares (results, times, durations). */

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** An element: attributes (on* are listeners, false/null/undefined are left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Buildbot's result codes. */
export const RESULT_NAMES = ['success', 'warnings', 'failure', 'skipped', 'exception', 'retry', 'cancelled'] as const;

export function resultName(results: number | null | undefined, complete = true): string {
  if (!complete || results === null || results === undefined) return 'running';
  return RESULT_NAMES[results] ?? `result ${results}`;
}

/** The CSS class of a result: `r-success`, `r-failure`, …, `r-running`. */
export function resultClass(results: number | null | undefined, complete = true): string {
  return `r-${resultName(results, complete).replace(/\s+/g, '-')}`;
}

export function formatTime(epochSeconds: number | null | undefined): string {
  if (!epochSeconds) return '';
  const d = new Date(epochSeconds * 1000);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  // Build and step times are whole seconds (as Buildbot stores them).
  if (seconds < 1) return seconds <= 0 ? '< 1 s' : `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function ago(epochSeconds: number | null | undefined): string {
  if (!epochSeconds) return 'never';
  const s = Date.now() / 1000 - epochSeconds;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A link handled by the app's router (no page load). */
export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href, 'data-route': true }, ...children);
}

export function errorBox(err: unknown): HTMLElement {
  return h('p', { class: 'error' }, String((err as Error)?.message ?? err));
}
