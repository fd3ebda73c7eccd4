/** The control buttons (force, rebuild, stop): shown only to those who may use them. */
import { canControl, get, list, rpc } from './api.js';
import { h, replace } from './dom.js';
import type { ForceSchedulerInfo } from './types.js';

/** A button that runs `action`, shows it running and then its outcome (or error) beside it. */
export function actionButton(label: string, action: () => Promise<string | void>, attrs: Record<string, string> = {}): HTMLElement {
  const out = h('span', { class: 'action-out' });
  const button = h('button', { type: 'button', ...attrs }, label) as HTMLButtonElement;
  button.addEventListener('click', () => {
    button.disabled = true;
    replace(out, '…');
    action().then(
      (msg) => replace(out, msg ?? ''),
      (err: Error) => replace(out, h('span', { class: 'error' }, err.message)),
    ).finally(() => {
      button.disabled = false;
    });
  });
  return h('span', { class: 'action' }, button, ' ', out);
}

/**
 * A force form for one builder (reason + the scheduler's button), when a ForceScheduler lists it.
 * `started(buildid)` is called when the forced build has started.
 */
export async function forceForm(builderName: string, started: (buildid: number) => void): Promise<HTMLElement | null> {
  if (!canControl()) return null;
  const scheds = (await list<ForceSchedulerInfo>('forceschedulers', 'forceschedulers')).filter((s) => s.builder_names.includes(builderName));
  const sched = scheds[0];
  if (!sched) return null;
  const reason = h('input', { name: 'reason', placeholder: 'reason', value: 'forced from the web UI', size: 30 });
  const out = h('span', { class: 'action-out' });
  const button = h('button', { type: 'submit', class: 'force' }, `Force build (${sched.label || sched.name})`) as HTMLButtonElement;
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'force-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        replace(out, 'requesting…');
        rpc<[number, Record<string, number>]>(`forceschedulers/${encodeURIComponent(sched.name)}`, 'force', { builderNames: [builderName], reason: reason.value })
          .then(async ([bsid, brids]) => {
            replace(out, `requested (buildset ${bsid}); waiting for the build to start…`);
            const brid = Object.values(brids)[0];
            const buildid = await waitForBuild(brid, () => form.isConnected);
            if (buildid === undefined) return;
            replace(out, `build started`);
            started(buildid);
          })
          .catch((err: Error) => replace(out, h('span', { class: 'error' }, err.message)))
          .finally(() => {
            button.disabled = false;
          });
      },
    },
    reason,
    ' ',
    button,
    ' ',
    out,
  );
  return form;
}

/** The build of a request once it starts; undefined when the page was left meanwhile. */
async function waitForBuild(brid: number | undefined, stillShown: () => boolean): Promise<number | undefined> {
  if (brid === undefined) throw new Error('the master answered no build request');
  while (stillShown()) {
    const body = await get<{ builds: { buildid: number }[] }>(`buildrequests/${brid}/builds`);
    if (body.builds.length) return body.builds[0].buildid;
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}
