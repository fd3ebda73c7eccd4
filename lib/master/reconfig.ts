/**
 * Reconfig, the plan: what differs between the config in force and a newly loaded (already fully
 * validated) one, and therefore what the master must do. Pure: Master.reconfig applies the plan.
 *
 * As in Buildbot (§8 of the facts): builders and workers are diffed by name, running builds are never
 * stopped — a changed builder's next build uses the new config while running ones keep theirs; a
 * removed builder takes no new build and its builder_masters row goes. A worker whose connection
 * settings changed reconnects once its running builds have ended. Schedulers are diffed by the
 * SchedulerManager itself (a changed one is replaced; its DB state is keyed by name and survives).
 * Change sources restart when their list changed (their state — last revisions — is in the DB).
 * The database cannot change under a running master; settings read only at start are reported.
 */
import type { ResolvedBuilder, ResolvedConfig, WorkerConfig } from '../config/resolved.js';
import { sameConfig } from '../schedulers/manager.js';

export interface ReconfigPlan {
  builders: { added: ResolvedBuilder[]; changed: ResolvedBuilder[]; removed: string[] };
  workers: {
    added: WorkerConfig[];
    /** Only settings a running connection does not use (maxBuilds, env, properties, basedir): applied in place. */
    updated: WorkerConfig[];
    /** Connection settings changed: reconnect after its running builds. */
    reconnect: WorkerConfig[];
    removed: string[];
  };
  schedulersChanged: boolean;
  changeSourcesChanged: boolean;
  /** Top-level settings applied live (logLevel, collapseRequests, …) that changed. */
  settings: string[];
  /** Settings that changed but are only read at start. */
  restartNeeded: string[];
  /** Changes a running master refuses (the config is then rejected as a whole). */
  refused: string[];
}

/** Worker settings a connection does not use: a change to only these needs no reconnect. */
const WORKER_LIVE_KEYS: ReadonlySet<string> = new Set(['maxBuilds', 'env', 'properties', 'basedir']);

/** Top-level keys whose new value takes effect live (read where used, or applied by Master.reconfig). */
const LIVE_KEYS: ReadonlySet<string> = new Set([
  'basedir',
  'title',
  'titleURL',
  'workers',
  'builders',
  'schedulers',
  'changeSources',
  'prioritizeBuilders',
  'collapseRequests',
  'properties',
  'shutdown',
  'logLevel',
]);

export function planReconfig(old: ResolvedConfig, next: ResolvedConfig): ReconfigPlan {
  const plan: ReconfigPlan = {
    builders: { added: [], changed: [], removed: [] },
    workers: { added: [], updated: [], reconnect: [], removed: [] },
    schedulersChanged: !sameConfig(old.schedulers, next.schedulers),
    changeSourcesChanged: !sameConfig(old.changeSources, next.changeSources),
    settings: [],
    restartNeeded: [],
    refused: [],
  };

  const oldBuilders = new Map(old.builders.map((b) => [b.name, b]));
  for (const b of next.builders) {
    const was = oldBuilders.get(b.name);
    if (!was) plan.builders.added.push(b);
    else if (!sameConfig(was, b)) plan.builders.changed.push(b);
  }
  const nextBuilders = new Set(next.builders.map((b) => b.name));
  plan.builders.removed = old.builders.filter((b) => !nextBuilders.has(b.name)).map((b) => b.name);

  const oldWorkers = new Map(old.workers.map((w) => [w.name, w]));
  for (const w of next.workers) {
    const was = oldWorkers.get(w.name);
    if (!was) plan.workers.added.push(w);
    else if (!sameConfig(was, w)) {
      const keys = new Set([...Object.keys(was), ...Object.keys(w)]);
      const connectionChanged = [...keys].some(
        (k) => !WORKER_LIVE_KEYS.has(k) && !sameConfig((was as unknown as Record<string, unknown>)[k], (w as unknown as Record<string, unknown>)[k]),
      );
      (connectionChanged ? plan.workers.reconnect : plan.workers.updated).push(w);
    }
  }
  const nextWorkers = new Set(next.workers.map((w) => w.name));
  plan.workers.removed = old.workers.filter((w) => !nextWorkers.has(w.name)).map((w) => w.name);

  if (old.db.url !== next.db.url) plan.refused.push(`db.url: the database cannot change while the master runs (stop it, then start it with the new URL)`);
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  for (const k of [...keys].sort()) {
    if (k === 'db') continue;
    const a = (old as unknown as Record<string, unknown>)[k];
    const b = (next as unknown as Record<string, unknown>)[k];
    if (sameConfig(a, b)) continue;
    if (!LIVE_KEYS.has(k)) plan.restartNeeded.push(k);
    else if (!['workers', 'builders', 'schedulers', 'changeSources', 'basedir'].includes(k)) plan.settings.push(k);
  }
  return plan;
}

/** One line per kind of change, for the log and for `buildmaster reconfig`. */
export function describePlan(plan: ReconfigPlan): string[] {
  const lines: string[] = [];
  const add = (what: string, names: string[]) => names.length && lines.push(`${what}: ${names.join(', ')}`);
  add('builders added', plan.builders.added.map((b) => b.name));
  add('builders changed', plan.builders.changed.map((b) => b.name));
  add('builders removed', plan.builders.removed);
  add('workers added', plan.workers.added.map((w) => w.name));
  add('workers changed', plan.workers.updated.map((w) => w.name));
  add('workers reconnecting', plan.workers.reconnect.map((w) => w.name));
  add('workers removed', plan.workers.removed);
  if (plan.schedulersChanged) lines.push('schedulers reconfigured');
  if (plan.changeSourcesChanged) lines.push('change sources restarted');
  add('settings changed', plan.settings);
  return lines;
}
