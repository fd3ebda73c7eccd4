/**
 * Workers (slave hosts): connected or not, busy with which builds, paused, last seen, and the
 * failure rate of the builds each ran (from the history's trends).
 */
import { canControl, list, rpc } from '../api.js';
import { actionButton } from '../control.js';
import { ago, errorBox, h, link, replace } from '../dom.js';
import { poll } from '../poll.js';
import type { Build, Builder, Worker } from '../types.js';

interface Rate {
  key: number | string | null;
  builds: number;
  failed: number;
  rate: number;
}

function seconds(v: unknown): number | undefined {
  if (typeof v === 'number') return v > 1e12 ? v / 1000 : v;
  if (typeof v === 'string' && v) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t / 1000;
  }
  return undefined;
}

export function workersPage(main: HTMLElement): () => void {
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  replace(main, h('h1', {}, 'Workers'), body);
  let refresh = async () => {};
  const act = (method: string, id: number, params: Record<string, unknown> = {}) => async () => {
    await rpc(`workers/${id}`, method, params);
    await refresh();
  };
  return poll((refresh = async () => {
    try {
      const [workers, running, builders, rates] = await Promise.all([
        list<Worker>('workers', 'workers'),
        list<Build>('builds', 'builds', { complete: 'false' }),
        list<Builder>('builders', 'builders'),
        list<Rate>('trends/failure_rates', 'rates', { by: 'worker' }).catch(() => [] as Rate[]),
      ]);
      const builderName = new Map(builders.map((b) => [b.builderid, b.name]));
      const rateOf = new Map(rates.map((r) => [Number(r.key), r]));
      const rows = workers.map((w) => {
        const busy = running.filter((b) => b.workerid === w.workerid);
        const info = w.workerinfo ?? {};
        const connected = w.connected_to.length > 0;
        const state = !connected ? 'disconnected' : w.paused ? 'paused' : busy.length ? 'busy' : 'idle';
        const rate = rateOf.get(w.workerid);
        const lastSeen = seconds(info.last_seen);
        return h(
          'tr',
          { 'data-worker': w.name },
          h('td', {}, w.name),
          h('td', {}, h('span', { class: `pill w-${state}` }, state), w.graceful ? ' (stopping)' : ''),
          h('td', {}, ...busy.flatMap((b) => [link(`/builds/${b.buildid}`, `${builderName.get(b.builderid) ?? b.builderid} #${b.number}`), ' '])),
          h('td', {}, connected ? 'now' : ago(lastSeen)),
          h('td', { class: 'muted' }, typeof info.disconnect_reason === 'string' && !connected ? info.disconnect_reason : ''),
          h('td', { class: 'num' }, rate ? `${(rate.rate * 100).toFixed(0)}% (${rate.failed}/${rate.builds})` : '—'),
          h('td', { class: 'muted' }, w.configured_on.map((c) => builderName.get(c.builderid) ?? String(c.builderid)).filter((x, i, a) => a.indexOf(x) === i).join(', ')),
          canControl()
            ? h(
                'td',
                { class: 'worker-controls' },
                w.paused || w.graceful
                  ? actionButton('unpause', act('unpause', w.workerid), { class: 'unpause' })
                  : actionButton('pause', act('pause', w.workerid, { reason: 'paused from the web UI' }), { class: 'pause' }),
              )
            : null,
        );
      });
      replace(
        body,
        workers.length
          ? h('table', { class: 'list workers' }, h('thead', {}, h('tr', {}, ...['worker', 'state', 'running', 'last seen', 'last disconnect', 'failure rate', 'builders'].map((t) => h('th', {}, t)))), h('tbody', {}, ...rows))
          : h('p', { class: 'empty' }, 'No workers.'),
      );
    } catch (err) {
      replace(body, errorBox(err));
    }
  }), 5000);
}
