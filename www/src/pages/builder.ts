/** One builder: its force form (when allowed) and its builds, newest first. */
import { list, one } from '../api.js';
import { errorBox, formatDuration, formatTime, h, link, replace, resultClass, resultName } from '../dom.js';
import { forceForm } from '../control.js';
import { poll } from '../poll.js';
import type { Build, Builder, Worker } from '../types.js';
import { navigate } from '../main.js';

export function builderPage(main: HTMLElement, params: Record<string, string>): () => void {
  const id = Number(params.builderid);
  const title = h('h1', {}, `Builder ${id}`);
  const force = h('div', { class: 'force' });
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  replace(main, title, force, body);
  let drawn = false;
  return poll(async () => {
    try {
      const builder = await one<Builder>(`builders/${id}`, 'builders');
      if (!builder) return replace(body, h('p', { class: 'error' }, `no builder ${id}`));
      replace(title, builder.name, builder.tags.length ? h('span', { class: 'tags' }, ` ${builder.tags.join(', ')}`) : '');
      if (!drawn) {
        drawn = true;
        const form = await forceForm(builder.name, (buildid) => navigate(`/builds/${buildid}`));
        if (form) replace(force, form);
      }
      const [builds, workers] = await Promise.all([
        list<Build>(`builders/${id}/builds`, 'builds', { order: '-number', limit: 50 }),
        list<Worker>('workers', 'workers'),
      ]);
      const workerName = new Map(workers.map((w) => [w.workerid, w.name]));
      const rows = builds.map((b) =>
        h(
          'tr',
          {},
          h('td', {}, link(`/builds/${b.buildid}`, `#${b.number}`)),
          h('td', {}, h('span', { class: `pill ${resultClass(b.results, b.complete)}` }, resultName(b.results, b.complete))),
          h('td', {}, b.state_string),
          h('td', {}, formatTime(b.started_at)),
          h('td', {}, formatDuration((b.complete_at ?? Date.now() / 1000) - b.started_at)),
          h('td', {}, workerName.get(b.workerid) ?? ''),
        ),
      );
      replace(
        body,
        builder.description ? h('p', { class: 'muted' }, builder.description) : null,
        builds.length
          ? h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ...['build', 'result', 'state', 'started', 'duration', 'worker'].map((t) => h('th', {}, t)))), h('tbody', {}, ...rows))
          : h('p', { class: 'empty' }, 'No builds yet.'),
      );
    } catch (err) {
      replace(body, errorBox(err));
    }
  }, 3000);
}
