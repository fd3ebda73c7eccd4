/**
 * A build: its header (result, times, worker), rebuild and stop buttons (when allowed), its steps
 * with durations, each step's logs streamed live while the build runs (the log view reads only new
 * lines every second), the error lines recorded by the history analyzer, and its properties.
 */
import { canControl, list, one, rpc } from '../api.js';
import { actionButton } from '../control.js';
import { errorBox, formatDuration, formatTime, h, link, replace, resultClass, resultName } from '../dom.js';
import { LiveEvents } from '../live.js';
import { LogView } from '../logView.js';
import { navigate } from '../main.js';
import type { Build, Builder, Log, Step, Worker } from '../types.js';

interface Failure {
  logid: number | null;
  line: number;
  text: string;
  signatureid: number;
}

interface StepView {
  el: HTMLDetailsElement;
  summary: HTMLElement;
  logsEl: HTMLElement;
  logs: Map<number, LogView>;
  touched: boolean;
}

const LIVE_MS = 1000;

export function buildPage(main: HTMLElement, params: Record<string, string>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const head = h('div', { class: 'build-head' }, h('p', { class: 'loading' }, 'Loading…'));
  const controls = h('div', { class: 'controls' });
  const failuresEl = h('div', { class: 'failures' });
  const stepsEl = h('div', { class: 'steps' });
  const propsEl = h('div', { class: 'props' });
  replace(main, head, controls, failuresEl, h('h2', {}, 'Steps'), stepsEl, h('h2', {}, 'Properties'), propsEl);
  const steps = new Map<number, StepView>();
  // Log lines arrive as live events while the build runs; the 1 s poll reads steps and fills gaps.
  const live = new LiveEvents();
  let controlsFor: string | undefined;
  let builder: Builder | undefined;
  let worker: Worker | undefined;
  let failuresShown = false;

  async function findBuild(): Promise<Build | undefined> {
    if (params.buildid) return one<Build>(`builds/${params.buildid}`, 'builds', { property: '*' });
    return one<Build>(`builders/${params.builderid}/builds/${params.number}`, 'builds', { property: '*' });
  }

  async function tick(): Promise<void> {
    const build = await findBuild();
    if (!build) {
      replace(head, h('p', { class: 'error' }, 'No such build.'));
      return;
    }
    // A build's builder and worker do not change: read them once.
    builder ??= await one<Builder>(`builders/${build.builderid}`, 'builders');
    if (build.workerid && !worker) worker = await one<Worker>(`workers/${build.workerid}`, 'workers');
    drawHead(build, builder, worker);
    drawControls(build);
    const stepList = await list<Step>(`builds/${build.buildid}/steps`, 'steps');
    for (const s of stepList) await drawStep(s);
    drawProps(build);
    if (build.complete && !failuresShown) {
      failuresShown = true;
      await drawFailures(build.buildid);
    }
    // Finished, every log finished and the open ones read to their end: nothing more will come.
    const allRead = [...steps.values()].every((v) => [...v.logs.values()].every((l) => l.complete && (l.done || !v.el.open)));
    if (build.complete && allRead) stopped = true;
  }

  function drawHead(b: Build, builder: Builder | undefined, worker: Worker | undefined): void {
    const name = builder?.name ?? `builder ${b.builderid}`;
    document.title = `${name} #${b.number}`;
    replace(
      head,
      h('h1', {}, link(`/builders/${b.builderid}`, name), ` #${b.number} `, h('span', { class: `pill ${resultClass(b.results, b.complete)}`, 'data-result': resultName(b.results, b.complete) }, resultName(b.results, b.complete))),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'state'),
        h('dd', { class: 'state' }, b.state_string),
        h('dt', {}, 'started'),
        h('dd', {}, formatTime(b.started_at)),
        h('dt', {}, 'duration'),
        h('dd', {}, formatDuration((b.complete_at ?? Date.now() / 1000) - b.started_at), b.complete ? '' : ' (running)'),
        h('dt', {}, 'worker'),
        h('dd', {}, worker?.name ?? ''),
        h('dt', {}, 'build id'),
        h('dd', {}, String(b.buildid)),
      ),
    );
  }

  function drawControls(b: Build): void {
    if (!canControl()) return;
    const key = `${b.buildid}:${b.complete}`;
    if (controlsFor === key) return;
    controlsFor = key;
    replace(
      controls,
      b.complete
        ? actionButton('Rebuild', async () => {
            const got = await rpc<[number, Record<string, number>]>(`builds/${b.buildid}`, 'rebuild', {});
            const brid = got ? Object.values(got[1] ?? {})[0] : undefined;
            if (brid === undefined) return 'rebuild requested';
            for (let i = 0; i < 120; i++) {
              const builds = await list<Build>(`buildrequests/${brid}/builds`, 'builds');
              if (builds.length) {
                navigate(`/builds/${builds[0]!.buildid}`);
                return;
              }
              await new Promise((r) => setTimeout(r, 500));
            }
            return `rebuild requested (request ${brid})`;
          }, { class: 'rebuild' })
        : actionButton('Stop', async () => {
            await rpc(`builds/${b.buildid}`, 'stop', { reason: 'stopped from the web UI' });
            return 'stop requested';
          }, { class: 'stop' }),
    );
  }

  async function drawStep(s: Step): Promise<void> {
    let v = steps.get(s.stepid);
    if (!v) {
      const summary = h('summary');
      const logsEl = h('div', { class: 'step-logs' });
      const el = h('details', { class: 'step', 'data-step': s.name }, summary, logsEl) as HTMLDetailsElement;
      v = { el, summary, logsEl, logs: new Map(), touched: false };
      el.addEventListener('toggle', () => {
        if (!el.open) return;
        v!.touched = true;
        // A closed step's lines are read when it is opened.
        for (const lv of v!.logs.values()) if (!lv.done) void lv.refresh();
      });
      steps.set(s.stepid, v);
      stepsEl.appendChild(el);
    }
    const duration = s.started_at ? formatDuration((s.complete_at ?? Date.now() / 1000) - s.started_at) : '';
    replace(
      v.summary,
      h('span', { class: `pill ${resultClass(s.results, s.complete)}` }, s.started_at ? resultName(s.results, s.complete) : 'pending'),
      ' ',
      h('span', { class: 'step-name' }, `${s.number + 1}. ${s.name}`),
      ' ',
      h('span', { class: 'muted' }, s.state_string),
      ' ',
      h('span', { class: 'duration' }, duration),
    );
    // Open what one wants to see: the running step and the failed ones (unless the user chose).
    const interesting = (s.started_at !== null && !s.complete) || (s.results !== null && s.results >= 2 && s.results !== 3);
    if (interesting && !v.touched) v.el.open = true;
    if (!s.started_at) return;
    // A finished step whose logs are all finished has nothing new to list.
    const settled = s.complete && v.logs.size > 0 && [...v.logs.values()].every((lv) => lv.complete);
    if (!settled) {
      for (const l of await list<Log>(`steps/${s.stepid}/logs`, 'logs')) {
        let lv = v.logs.get(l.logid);
        if (!lv) {
          lv = new LogView(l);
          v.logs.set(l.logid, lv);
          v.logsEl.appendChild(lv.el);
          if (!l.complete) void lv.follow(live);
        }
        lv.update(l);
      }
      if (s.complete && v.logs.size === 0) replace(v.logsEl, h('span', { class: 'muted' }, 'no logs'));
    }
    // Lines are read only for open steps (the running and failed ones, and those the reader opens).
    if (v.el.open) for (const lv of v.logs.values()) if (!lv.done) await lv.refresh();
  }

  async function drawFailures(id: number): Promise<void> {
    let failures: Failure[] = [];
    try {
      failures = await list<Failure>(`builds/${id}/failures`, 'failures');
    } catch {
      return; // no history on this master
    }
    const byLog = new Map<number, number[]>();
    for (const f of failures) if (f.logid !== null) byLog.set(f.logid, [...(byLog.get(f.logid) ?? []), f.line]);
    for (const v of steps.values()) for (const [logid, lv] of v.logs) if (byLog.has(logid)) lv.markErrors(byLog.get(logid)!);
    if (failures.length === 0) return;
    replace(
      failuresEl,
      h('h2', {}, 'Error lines'),
      h(
        'ul',
        { class: 'failure-list' },
        ...failures.slice(0, 50).map((f) =>
          h('li', {}, lineLink(f.logid, f.line), ': ', h('code', {}, f.text), ' ', link(`/failures?signature=${f.signatureid}`, 'signature')),
        ),
      ),
    );
  }

  function lineLink(logid: number | null, line: number): HTMLElement | string {
    if (logid === null) return `line ${line}`;
    for (const v of steps.values()) {
      const lv = v.logs.get(logid);
      if (lv) return lv.lineLink(line, `line ${line}`);
    }
    return h('a', { href: `#log-${logid}-L${line}` }, `line ${line}`);
  }

  function drawProps(b: Build): void {
    const props = Object.entries(b.properties ?? {}).sort(([a], [c]) => a.localeCompare(c));
    replace(
      propsEl,
      props.length
        ? h('table', { class: 'list props' }, h('tbody', {}, ...props.map(([k, [v, src]]) => h('tr', {}, h('td', {}, k), h('td', {}, h('code', {}, typeof v === 'string' ? v : JSON.stringify(v))), h('td', { class: 'muted' }, src)))))
        : h('p', { class: 'empty' }, 'No properties.'),
    );
  }

  const loop = async () => {
    try {
      await tick();
    } catch (err) {
      replace(head, errorBox(err));
    }
    if (!stopped) timer = setTimeout(loop, LIVE_MS);
    else {
      live.close();
      if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
    }
  };
  void loop();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    live.close();
  };
}
