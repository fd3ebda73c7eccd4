/**
 * Builders and a waterfall: each builder with its recent builds (newest first), and below, the
 * recent builds of every builder in time order, one column per builder.
 */
import { list } from '../api.js';
import { ago, errorBox, formatDuration, formatTime, h, link, replace, resultClass, resultName } from '../dom.js';
import { poll } from '../poll.js';
import type { Build, Builder } from '../types.js';
import { groupBuilders } from './grid.js';

const RECENT = 200;

export function buildersPage(main: HTMLElement): () => void {
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  replace(main, h('h1', {}, 'Builders'), body);
  return poll(async () => {
    try {
      const [builders, builds] = await Promise.all([list<Builder>('builders', 'builders'), list<Build>('builds', 'builds', { order: '-buildid', limit: RECENT })]);
      replace(body, buildersTable(builders, builds), h('h2', {}, 'Waterfall'), waterfall(builders, builds));
    } catch (err) {
      replace(body, errorBox(err));
    }
  }, 5000);
}

function buildBox(b: Build): HTMLElement {
  return h('a', { href: `/builds/${b.buildid}`, 'data-route': true, class: `build ${resultClass(b.results, b.complete)}`, title: `#${b.number} ${resultName(b.results, b.complete)}: ${b.state_string}` }, String(b.number));
}

function buildersTable(builders: Builder[], builds: Build[]): HTMLElement {
  const rows = groupBuilders(builders).flatMap((g) =>
    g.builders.map((b) => {
      const mine = builds.filter((x) => x.builderid === b.builderid);
      const last = mine.find((x) => x.complete);
      return h(
        'tr',
        {},
        h('td', {}, link(`/builders/${b.builderid}`, b.name)),
        h('td', { class: 'tags' }, b.tags.join(', ')),
        h('td', { class: 'muted' }, b.description ?? ''),
        h('td', {}, last ? h('span', { class: `pill ${resultClass(last.results)}` }, resultName(last.results)) : '', ' ', last ? ago(last.complete_at) : ''),
        h('td', { class: 'recent' }, ...mine.slice(0, 15).map(buildBox)),
      );
    }),
  );
  return h('table', { class: 'list builders' }, h('thead', {}, h('tr', {}, h('th', {}, 'builder'), h('th', {}, 'tags'), h('th', {}, 'description'), h('th', {}, 'last result'), h('th', {}, 'recent builds'))), h('tbody', {}, ...rows));
}

function waterfall(builders: Builder[], builds: Build[]): HTMLElement {
  if (builds.length === 0) return h('p', { class: 'empty' }, 'No builds yet.');
  const columns = groupBuilders(builders).flatMap((g) => g.builders);
  const rows = [...builds]
    .sort((a, b) => b.started_at - a.started_at)
    .slice(0, 60)
    .map((b) =>
      h(
        'tr',
        {},
        h('td', { class: 'when' }, formatTime(b.started_at)),
        ...columns.map((c) =>
          c.builderid === b.builderid
            ? h('td', { class: `wf ${resultClass(b.results, b.complete)}` }, link(`/builds/${b.buildid}`, `#${b.number}`), ' ', b.state_string, ' ', h('span', { class: 'muted' }, formatDuration((b.complete_at ?? Date.now() / 1000) - b.started_at)))
            : h('td', {}),
        ),
      ),
    );
  return h('table', { class: 'waterfall' }, h('thead', {}, h('tr', {}, h('th', {}, 'started'), ...columns.map((c) => h('th', {}, c.name)))), h('tbody', {}, ...rows));
}
