/**
 * The grid (as Treeherder and TBPL show a tree): rows are pushes, newest on top; columns are the
 * builders, grouped by their first tag; a cell holds the builds of that push on that builder,
 * coloured by result and linked to the build page.
 */
import { list } from '../api.js';
import { errorBox, formatTime, h, link, replace, resultClass, resultName } from '../dom.js';
import { poll } from '../poll.js';
import type { Builder, Change, Push } from '../types.js';

const PUSHES = 30;

export function groupBuilders(builders: Builder[]): { tag: string; builders: Builder[] }[] {
  const groups = new Map<string, Builder[]>();
  for (const b of [...builders].sort((x, y) => x.name.localeCompare(y.name))) {
    const tag = b.tags[0] ?? '';
    if (!groups.has(tag)) groups.set(tag, []);
    groups.get(tag)!.push(b);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b))).map(([tag, bs]) => ({ tag, builders: bs }));
}

export function gridPage(main: HTMLElement): () => void {
  const body = h('div', { class: 'grid-wrap' }, h('p', { class: 'loading' }, 'Loading…'));
  replace(main, h('h1', {}, 'Pushes'), body);

  return poll(async () => {
    try {
      const [builders, pushes] = await Promise.all([
        list<Builder>('builders', 'builders'),
        list<Push>('pushes', 'pushes', { order: '-pushid', limit: PUSHES }),
      ]);
      // Each push is shown by its last change (the revision it leaves the branch at).
      const lastIds = pushes.map((p) => p.changeids[p.changeids.length - 1]).filter((id): id is number => id !== undefined);
      const changes = lastIds.length ? await list<Change>('changes', 'changes', { changeid__in: lastIds }) : [];
      replace(body, grid(builders, pushes, new Map(changes.map((c) => [c.changeid, c]))));
    } catch (err) {
      replace(body, errorBox(err));
    }
  }, 5000);
}

function grid(builders: Builder[], pushes: Push[], changes: Map<number, Change>): HTMLElement {
  if (pushes.length === 0) {
    return h('p', { class: 'empty' }, 'No pushes yet. Pushes come from change sources (pollers, hooks, sendchange); forced builds are on the ', link('/builders', 'builders'), ' page.');
  }
  const groups = groupBuilders(builders);
  const columns = groups.flatMap((g) => g.builders);
  const headGroups = h('tr', {}, h('th', { rowspan: 2, class: 'push-head' }, 'push'), ...groups.map((g) => h('th', { colspan: g.builders.length, class: 'tag' }, g.tag || 'untagged')));
  const headBuilders = h('tr', {}, ...columns.map((b) => h('th', { class: 'builder' }, link(`/builders/${b.builderid}`, b.name))));
  const rows = pushes.map((p) => {
    const last = changes.get(p.changeids[p.changeids.length - 1] ?? -1);
    const rev = last?.revision ? last.revision.slice(0, 12) : '';
    const comment = (last?.comments ?? '').split('\n')[0];
    const head = h(
      'th',
      { class: 'push', title: `${p.repository} ${p.branch ?? ''}` },
      h('span', { class: 'rev' }, rev || `push ${p.pushid}`),
      ' ',
      h('span', { class: 'author' }, p.author),
      h('div', { class: 'when' }, formatTime(p.pushed_at), p.changeids.length > 1 ? ` · ${p.changeids.length} changes` : ''),
      comment ? h('div', { class: 'comment' }, comment) : null,
    );
    const cells = columns.map((b) => {
      const builds = p.builds.filter((x) => x.builderid === b.builderid).sort((x, y) => x.number - y.number);
      return h(
        'td',
        { class: 'cell', 'data-builder': b.name },
        ...builds.map((x) =>
          h('a', { href: `/builds/${x.buildid}`, 'data-route': true, class: `build ${resultClass(x.results, x.complete)}`, title: `${b.name} #${x.number}: ${resultName(x.results, x.complete)} — ${x.state_string}` }, String(x.number)),
        ),
      );
    });
    return h('tr', { 'data-pushid': p.pushid }, head, ...cells);
  });
  return h('table', { class: 'grid' }, h('thead', {}, headGroups, headBuilders), h('tbody', {}, ...rows));
}
