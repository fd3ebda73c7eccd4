/**
 * Trends: build and step durations per build, failure rate per day, and failure rates by builder,
 * worker and branch, filtered by builder, worker and branch; duration regression alerts are marked
 * on the duration charts and listed below them.
 */
import { list } from '../api.js';
import { chart, color, type Marker, type Series } from '../chart.js';
import { errorBox, formatDuration, formatTime, h, link, replace } from '../dom.js';
import { navigate } from '../main.js';
import type { Build, Builder, Step, Worker } from '../types.js';

interface DurationPoint {
  t: number;
  buildid: number;
  workerid: number | null;
  duration: number;
  results: number | null;
}

interface Rate {
  key: number | string | null;
  builds: number;
  failed: number;
  rate: number;
}

interface Alert {
  alertid: number;
  builderid: number;
  step_name: string | null;
  buildid: number;
  percent: number;
  old_mean: number;
  new_mean: number;
  status: string;
  created_at: number;
}

const MAX_STEP_SERIES = 6;

export function trendsPage(main: HTMLElement, _params: Record<string, string>, query: URLSearchParams): void {
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const form = h('form', { class: 'filters' });
  replace(main, h('h1', {}, 'Trends'), form, body);
  void draw(form, body, query).catch((err) => replace(body, errorBox(err)));
}

function filterQuery(query: URLSearchParams): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const k of ['builderid', 'workerid', 'branch']) {
    const v = query.get(k);
    if (v !== null && v !== '') out[k] = v;
  }
  return out;
}

async function draw(form: HTMLFormElement, body: HTMLElement, query: URLSearchParams): Promise<void> {
  const [builders, workers] = await Promise.all([list<Builder>('builders', 'builders'), list<Worker>('workers', 'workers')]);
  const f = filterQuery(query);
  drawForm(form, builders, workers, f);
  const builderName = new Map(builders.map((b) => [b.builderid, b.name]));
  const workerName = new Map(workers.map((w) => [w.workerid, w.name]));

  const [perBuild, perDay, byBuilder, byWorker, byBranch, alerts] = await Promise.all([
    list<DurationPoint>('trends/build_durations', 'durations', { ...f, per: 'build' }),
    list<Rate>('trends/failure_rates', 'rates', { ...f, by: 'day' }),
    list<Rate>('trends/failure_rates', 'rates', { ...f, by: 'builder' }),
    list<Rate>('trends/failure_rates', 'rates', { ...f, by: 'worker' }),
    list<Rate>('trends/failure_rates', 'rates', { ...f, by: 'branch' }),
    list<Alert>('alerts', 'alerts', { builderid: f.builderid }).catch(() => [] as Alert[]),
  ]);

  // Build durations: one series per builder (or the chosen one), per build.
  const tOfBuild = new Map(perBuild.map((p) => [p.buildid, p.t]));
  const buildMarkers: Marker[] = alerts.filter((a) => !a.step_name && tOfBuild.has(a.buildid)).map((a) => ({ x: tOfBuild.get(a.buildid)!, label: `+${Math.round(a.percent)}%` }));
  const durationChart = await buildDurationChart(perBuild, builderName, f, buildMarkers);

  // Step durations of the chosen builder's steps (names from its latest build).
  const stepCharts: HTMLElement[] = [];
  if (f.builderid) {
    const latest = await list<Build>(`builders/${f.builderid}/builds`, 'builds', { order: '-number', limit: 1 });
    const names = latest[0] ? (await list<Step>(`builds/${latest[0].buildid}/steps`, 'steps')).map((s) => s.name).slice(0, MAX_STEP_SERIES) : [];
    const perStep = await Promise.all(names.map((n) => list<DurationPoint>('trends/step_durations', 'durations', { ...f, step_name: n, per: 'build' })));
    const xs = [...new Set(perStep.flatMap((ps) => ps.map((p) => p.t)))].sort((a, b) => a - b);
    const series: Series[] = names.map((n, i) => {
      const at = new Map(perStep[i]!.map((p) => [p.t, p.duration]));
      return { label: n, values: xs.map((x) => at.get(x) ?? null), color: color(i) };
    });
    const stepMarkers: Marker[] = alerts.filter((a) => a.step_name).flatMap((a) => {
      const t = perStep.flatMap((ps) => ps).find((p) => p.buildid === a.buildid)?.t;
      return t === undefined ? [] : [{ x: t, label: `${a.step_name} +${Math.round(a.percent)}%` }];
    });
    stepCharts.push(chart({ title: 'Step durations (per build)', x: xs, series, yLabel: 'seconds', markers: stepMarkers, yFormat: (v) => formatDuration(v) }));
  }

  const rateChart = chart({
    title: 'Failure rate (per day)',
    x: perDay.map((r) => Number(r.key)),
    series: [{ label: 'failed / builds', values: perDay.map((r) => Math.round(r.rate * 1000) / 10), color: '#d62728' }],
    yLabel: '% failed',
    xPad: 86_400,
  });

  replace(
    body,
    h('div', { class: 'charts' }, durationChart, ...stepCharts, rateChart),
    h('h2', {}, 'Regression alerts'),
    alerts.length
      ? h(
          'table',
          { class: 'list alerts' },
          h('thead', {}, h('tr', {}, ...['when', 'builder', 'step', 'change', 'build', 'status'].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            ...alerts.map((a) =>
              h(
                'tr',
                {},
                h('td', {}, formatTime(a.created_at)),
                h('td', {}, builderName.get(a.builderid) ?? String(a.builderid)),
                h('td', {}, a.step_name ?? '(whole build)'),
                h('td', { class: 'num' }, `${formatDuration(Number(a.old_mean))} → ${formatDuration(Number(a.new_mean))} (${Number(a.percent) > 0 ? '+' : ''}${Math.round(Number(a.percent))}%)`),
                h('td', {}, link(`/builds/${a.buildid}`, String(a.buildid))),
                h('td', {}, a.status),
              ),
            ),
          ),
        )
      : h('p', { class: 'empty' }, 'No regression alerts.'),
    h('h2', {}, 'Failure rates'),
    h('div', { class: 'rates' }, rateTable('builder', byBuilder, (k) => builderName.get(Number(k)) ?? String(k)), rateTable('worker', byWorker, (k) => (k === null ? '(none)' : (workerName.get(Number(k)) ?? String(k)))), rateTable('branch', byBranch, (k) => (k === null || k === '' ? '(none)' : String(k)))),
  );
}

async function buildDurationChart(points: DurationPoint[], builderName: Map<number, string>, f: Record<string, string | undefined>, markers: Marker[]): Promise<HTMLElement> {
  // The per-build points do not say their builder: ask per builder when none is chosen.
  let groups: { label: string; points: DurationPoint[] }[];
  if (f.builderid) groups = [{ label: builderName.get(Number(f.builderid)) ?? `builder ${f.builderid}`, points }];
  else {
    const ids = [...builderName.keys()];
    const per = await Promise.all(ids.map((id) => list<DurationPoint>('trends/build_durations', 'durations', { ...f, builderid: String(id), per: 'build' })));
    groups = ids.map((id, i) => ({ label: builderName.get(id)!, points: per[i]! })).filter((g) => g.points.length > 0);
  }
  const xs = [...new Set(groups.flatMap((g) => g.points.map((p) => p.t)))].sort((a, b) => a - b);
  const series: Series[] = groups.map((g, i) => {
    const at = new Map(g.points.map((p) => [p.t, p.duration]));
    return { label: g.label, values: xs.map((x) => at.get(x) ?? null), color: color(i) };
  });
  return chart({ title: 'Build durations (per build)', x: xs, series, yLabel: 'seconds', markers, yFormat: (v) => formatDuration(v) });
}

function rateTable(by: string, rates: Rate[], name: (k: number | string | null) => string): HTMLElement {
  return h(
    'table',
    { class: `list rate-table rates-${by}` },
    h('thead', {}, h('tr', {}, h('th', {}, by), h('th', {}, 'builds'), h('th', {}, 'failed'), h('th', {}, 'rate'))),
    h('tbody', {}, ...rates.map((r) => h('tr', {}, h('td', {}, name(r.key)), h('td', { class: 'num' }, String(r.builds)), h('td', { class: 'num' }, String(r.failed)), h('td', { class: 'num' }, `${(r.rate * 100).toFixed(0)}%`)))),
  );
}

function drawForm(form: HTMLFormElement, builders: Builder[], workers: Worker[], f: Record<string, string | undefined>): void {
  const select = (name: string, label: string, options: [string, string][]) =>
    h('label', {}, `${label} `, h('select', { name }, h('option', { value: '' }, 'all'), ...options.map(([v, t]) => h('option', { value: v, selected: f[name] === v }, t))));
  replace(
    form,
    select('builderid', 'builder', builders.map((b) => [String(b.builderid), b.name])),
    ' ',
    select('workerid', 'worker', workers.map((w) => [String(w.workerid), w.name])),
    ' ',
    h('label', {}, 'branch ', h('input', { name: 'branch', value: f.branch ?? '', size: 12, placeholder: 'any' })),
    ' ',
    h('button', { type: 'submit' }, 'show'),
  );
  form.onsubmit = (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, String(v));
    navigate(`/trends${q.toString() ? `?${q}` : ''}`);
  };
}
