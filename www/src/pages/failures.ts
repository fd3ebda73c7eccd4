/**
 * Failures: the failure signatures (normalised error lines), most frequent first, with where they
 * were first and last seen, which workers and builders they hit, their known-issue label, the
 * suggested labels and a classify action; `?signature=N` shows one with its occurrences.
 */
import { canControl, list, rpc } from '../api.js';
import { actionButton } from '../control.js';
import { errorBox, formatTime, h, link, replace } from '../dom.js';
import { navigate } from '../main.js';
import type { Builder, Worker } from '../types.js';

interface Signature {
  signatureid: number;
  hash: string;
  signature: string;
  example: string;
  first_seen: number;
  first_buildid: number;
  first_revision: string | null;
  last_seen: number;
  last_buildid: number;
  occurrences: number;
  count: number;
  known_issueid: number | null;
  classified_by: string | null;
}

interface Count {
  key: number | string | null;
  count: number;
}

interface KnownIssue {
  known_issueid: number;
  title: string;
  url: string | null;
}

interface Suggestion {
  known_issueid: number;
  title: string;
  url: string | null;
  score: number;
}

interface Occurrence {
  failureid: number;
  buildid: number;
  logid: number | null;
  line: number;
  text: string;
  test: string | null;
  builderid: number;
  workerid: number | null;
  branch: string | null;
  revision: string | null;
  at: number;
}

/** Signatures per page (each costs three small requests: workers, builders, suggestions). */
const LIMIT = 25;

export function failuresPage(main: HTMLElement, _params: Record<string, string>, query: URLSearchParams): void {
  const form = h('form', { class: 'filters' });
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  replace(main, h('h1', {}, 'Failures'), form, body);
  void draw(form, body, query).catch((err) => replace(body, errorBox(err)));
}

async function draw(form: HTMLFormElement, body: HTMLElement, query: URLSearchParams): Promise<void> {
  const [builders, workers, issues] = await Promise.all([
    list<Builder>('builders', 'builders'),
    list<Worker>('workers', 'workers'),
    list<KnownIssue>('known_issues', 'known_issues').catch(() => [] as KnownIssue[]),
  ]);
  const names = {
    builder: new Map(builders.map((b) => [b.builderid, b.name])),
    worker: new Map(workers.map((w) => [w.workerid, w.name])),
    issue: new Map(issues.map((k) => [k.known_issueid, k])),
  };
  const builderid = query.get('builderid') || undefined;
  const days = query.get('days') || undefined;
  drawForm(form, builders, builderid, days);
  const filter: Record<string, string | undefined> = { builderid, since: days ? String(Math.floor(Date.now() / 1000) - Number(days) * 86400) : undefined };

  const one = query.get('signature');
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const sigs = await list<Signature>(one ? `signatures/${one}` : 'signatures', 'signatures', one ? {} : { ...filter, limit: LIMIT, offset });
  if (sigs.length === 0) {
    replace(body, h('p', { class: 'empty' }, 'No failure signatures yet: they appear when failed steps have error lines.'));
    return;
  }
  const rows = await Promise.all(sigs.map((s) => signatureRow(s, filter, names, issues)));
  const table = h(
    'table',
    { class: 'list signatures' },
    h('thead', {}, h('tr', {}, ...['signature', 'count', 'first seen', 'last seen', 'workers', 'builders', 'known issue'].map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows),
  );
  if (!one) {
    const more = new URLSearchParams(query);
    more.set('offset', String(offset + LIMIT));
    replace(body, table, sigs.length === LIMIT ? h('p', {}, link(`/failures?${more}`, `next ${LIMIT}`)) : null);
    return;
  }
  const occ = await list<Occurrence>(`signatures/${one}/occurrences`, 'failures', { limit: 100 });
  replace(
    body,
    table,
    h('h2', {}, 'Occurrences'),
    h(
      'table',
      { class: 'list occurrences' },
      h('thead', {}, h('tr', {}, ...['when', 'build', 'builder', 'worker', 'branch', 'line'].map((t) => h('th', {}, t)))),
      h(
        'tbody',
        {},
        ...occ.map((o) =>
          h(
            'tr',
            {},
            h('td', {}, formatTime(o.at)),
            h('td', {}, link(`/builds/${o.buildid}${o.logid !== null ? `#log-${o.logid}-L${o.line}` : ''}`, `build ${o.buildid}`)),
            h('td', {}, names.builder.get(o.builderid) ?? String(o.builderid)),
            h('td', {}, o.workerid === null ? '' : (names.worker.get(o.workerid) ?? String(o.workerid))),
            h('td', {}, o.branch ?? ''),
            h('td', {}, h('code', {}, o.text)),
          ),
        ),
      ),
    ),
  );
}

async function signatureRow(
  s: Signature,
  filter: Record<string, string | undefined>,
  names: { builder: Map<number, string>; worker: Map<number, string>; issue: Map<number, KnownIssue> },
  issues: KnownIssue[],
): Promise<HTMLElement> {
  const [byWorker, byBuilder, suggestions] = await Promise.all([
    list<Count>(`signatures/${s.signatureid}/counts`, 'counts', { ...filter, by: 'worker' }),
    list<Count>(`signatures/${s.signatureid}/counts`, 'counts', { ...filter, by: 'builder' }),
    s.known_issueid === null ? list<Suggestion>(`signatures/${s.signatureid}/suggestions`, 'suggestions').catch(() => [] as Suggestion[]) : Promise.resolve([] as Suggestion[]),
  ]);
  const issue = s.known_issueid !== null ? names.issue.get(s.known_issueid) : undefined;
  const label = issue
    ? h('span', { class: 'issue' }, issue.url ? h('a', { href: issue.url, target: '_blank', rel: 'noopener' }, issue.title) : issue.title, s.classified_by ? h('span', { class: 'muted' }, ` (by ${s.classified_by})`) : '')
    : h('span', { class: 'muted' }, 'unclassified');
  const cell = h('td', { class: 'known' }, label);
  if (suggestions.length) {
    cell.appendChild(h('div', { class: 'suggestions' }, 'suggested: ', ...suggestions.slice(0, 3).map((x) => h('span', { class: 'suggestion' }, `${x.title} (${Math.round(x.score * 100)}%) `))));
  }
  if (canControl() && issues.length) cell.appendChild(classifyForm(s, issues, suggestions));
  return h(
    'tr',
    { 'data-signatureid': s.signatureid },
    h('td', { class: 'sig' }, link(`/failures?signature=${s.signatureid}`, h('code', {}, s.example || s.signature))),
    h('td', { class: 'num' }, String(s.count ?? s.occurrences)),
    h('td', {}, formatTime(s.first_seen), ' ', link(`/builds/${s.first_buildid}`, `build ${s.first_buildid}`), s.first_revision ? h('span', { class: 'muted' }, ` ${s.first_revision.slice(0, 10)}`) : ''),
    h('td', {}, formatTime(s.last_seen), ' ', link(`/builds/${s.last_buildid}`, `build ${s.last_buildid}`)),
    h('td', { class: 'workers' }, byWorker.map((c) => `${c.key === null ? '(none)' : (names.worker.get(Number(c.key)) ?? String(c.key))} ×${c.count}`).join(', ')),
    h('td', { class: 'builders' }, byBuilder.map((c) => `${names.builder.get(Number(c.key)) ?? String(c.key)} ×${c.count}`).join(', ')),
    cell,
  );
}

function classifyForm(s: Signature, issues: KnownIssue[], suggestions: Suggestion[]): HTMLElement {
  const first = suggestions[0]?.known_issueid ?? s.known_issueid;
  const select = h('select', { name: 'known_issueid' }, h('option', { value: '' }, '(no label)'), ...issues.map((k) => h('option', { value: String(k.known_issueid), selected: k.known_issueid === first }, k.title)));
  return h(
    'div',
    { class: 'classify' },
    select,
    ' ',
    actionButton('classify', async () => {
      const id = select.value ? Number(select.value) : null;
      await rpc(`signatures/${s.signatureid}`, 'classify', { known_issueid: id });
      navigate(`${location.pathname}${location.search}`);
      return 'classified';
    }),
  );
}

function drawForm(form: HTMLFormElement, builders: Builder[], builderid: string | undefined, days: string | undefined): void {
  replace(
    form,
    h('label', {}, 'builder ', h('select', { name: 'builderid' }, h('option', { value: '' }, 'all'), ...builders.map((b) => h('option', { value: String(b.builderid), selected: String(b.builderid) === builderid }, b.name)))),
    ' ',
    h('label', {}, 'last ', h('input', { name: 'days', value: days ?? '', size: 4, placeholder: 'all' }), ' days'),
    ' ',
    h('button', { type: 'submit' }, 'show'),
  );
  form.onsubmit = (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, String(v));
    navigate(`/failures${q.toString() ? `?${q}` : ''}`);
  };
}
