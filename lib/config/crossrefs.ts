/**
 * Checks between the parts of a config: duplicate names, references to workers, builders and
 * schedulers that do not exist, and locks that share a name. They read the raw config (guarding
 * every type), so they still run when some elements failed validation; names of elements that were
 * resolved come from the resolved form (e.g. a GitPoller's default name).
 */
import { formatPath, type PathSegment } from './configPath.js';
import { defaultBuilddir } from './defaults.js';
import { withArticle } from './schemas/common.js';

type Raw = Record<string, unknown>;

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asObject = (v: unknown): Raw => (typeof v === 'object' && v !== null ? (v as Raw) : {});
const optionsOf = (v: unknown): Raw => asObject(asObject(v).options);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const TRIGGERABLE = ['Triggerable', 'NightlyTriggerable'];

export interface CrossrefInput {
  raw: Raw;
  /** Names of the change sources that resolved (by index), for their defaults. */
  changeSourceNames: (string | undefined)[];
}

export interface CrossrefProblem {
  path: string;
  message: string;
  /** Where to look when the path is not written in the source. */
  hint?: { literal?: string; within?: string };
}

export function crossrefProblems({ raw, changeSourceNames }: CrossrefInput): CrossrefProblem[] {
  const problems: CrossrefProblem[] = [];
  const add = (path: PathSegment[], message: string, literal?: string, within?: string) =>
    problems.push({
      path: formatPath(path),
      message,
      ...(literal || within ? { hint: { ...(literal ? { literal } : {}), ...(within ? { within } : {}) } } : {}),
    });

  /** First index per name; later ones are duplicates. */
  const unique = (list: string, names: (string | undefined)[], what: string, key: PathSegment[] = ['name']) => {
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
      if (name === undefined) return;
      const first = seen.get(name);
      if (first === undefined) seen.set(name, i);
      // A default name (a GitPoller's repourl, a builddir from the name) is not written: point at the element.
      else add([list, i, ...key], `duplicate ${what} "${name}" (also ${formatPath([list, first])})`, undefined, formatPath([list, i]));
    });
    return seen;
  };

  const workers = asList(raw.workers);
  const builders = asList(raw.builders);
  const schedulers = asList(raw.schedulers);
  const changeSources = asList(raw.changeSources);

  const workerNames = unique('workers', workers.map((w) => str(asObject(w).name)), 'worker name');
  const builderNames = unique('builders', builders.map((b) => str(asObject(b).name)), 'builder name');
  unique(
    'builders',
    builders.map((b) => {
      const o = asObject(b);
      return str(o.builddir) ?? (str(o.name) ? defaultBuilddir(o.name as string) : undefined);
    }),
    'builddir',
    ['builddir'],
  );
  const schedulerNames = unique('schedulers', schedulers.map((s) => str(optionsOf(s).name)), 'scheduler name');
  unique(
    'changeSources',
    changeSources.map((c, i) => changeSourceNames[i] ?? str(optionsOf(c).name) ?? str(optionsOf(c).repourl)),
    'change source name',
  );

  const schedulerKind = (name: string) => str(asObject(schedulers[schedulerNames.get(name)!]).kind);
  const locks = new LockRegistry(add);

  builders.forEach((b, i) => {
    const o = asObject(b);
    const names = typeof o.workernames === 'string' ? [o.workernames] : asList(o.workernames);
    names.forEach((n, k) => {
      const name = str(n);
      if (name !== undefined && !workerNames.has(name)) {
        add(typeof o.workernames === 'string' ? ['builders', i, 'workernames'] : ['builders', i, 'workernames', k], `unknown worker "${name}"`, name);
      }
    });
    const builderLocks = new Map(locks.register(o.locks, ['builders', i, 'locks']).map((l) => [l.name, l.path]));
    asList(o.steps).forEach((s, j) => {
      const opts = optionsOf(s);
      const path = ['builders', i, 'steps', j];
      for (const name of locks.register(opts.locks, [...path, 'locks'])) {
        if (builderLocks.has(name.name)) add(name.path, `lock "${name.name}" is already taken by the builder (${formatPath(builderLocks.get(name.name)!)})`);
      }
      if (asObject(s).kind !== 'Trigger') return;
      asList(opts.schedulerNames).forEach((n, k) => {
        const name = str(n);
        if (name === undefined) return;
        if (!schedulerNames.has(name)) add([...path, 'schedulerNames', k], `unknown scheduler "${name}"`, name);
        else if (!TRIGGERABLE.includes(schedulerKind(name) ?? '')) {
          add([...path, 'schedulerNames', k], `scheduler "${name}" is ${withArticle(schedulerKind(name) ?? 'scheduler')}; only Triggerable and NightlyTriggerable schedulers can be triggered`);
        }
      });
    });
  });

  schedulers.forEach((s, i) => {
    const opts = optionsOf(s);
    asList(opts.builderNames).forEach((n, k) => {
      const name = str(n);
      if (name !== undefined && !builderNames.has(name)) add(['schedulers', i, 'builderNames', k], `unknown builder "${name}"`, name);
    });
    if (asObject(s).kind !== 'Dependent') return;
    const single = !Array.isArray(opts.upstream);
    const upstream = single ? [opts.upstream] : asList(opts.upstream);
    upstream.forEach((u, k) => {
      const name = str(u) ?? str(optionsOf(u).name);
      if (name === undefined) return;
      const path: PathSegment[] = single ? ['schedulers', i, 'upstream'] : ['schedulers', i, 'upstream', k];
      if (!schedulerNames.has(name)) add(path, `unknown scheduler "${name}"`, name);
      else if (name === str(opts.name)) add(path, 'a scheduler cannot depend on itself');
    });
  });

  return problems;
}

interface LockUse {
  name: string;
  path: PathSegment[];
}

/** Locks are identified by name: two different definitions under one name are an error (Buildbot). */
class LockRegistry {
  private readonly byName = new Map<string, { signature: string; path: PathSegment[] }>();

  constructor(private readonly add: (path: PathSegment[], message: string) => void) {}

  /** Registers the locks of one `locks` list; returns those it holds. */
  register(list: unknown, listPath: PathSegment[]): LockUse[] {
    const held: LockUse[] = [];
    asList(list).forEach((entry, k) => {
      const e = asObject(entry);
      const lock = e.kind === 'LockAccess' ? asObject(e.lock) : e;
      const name = str(lock.name);
      if (name === undefined || (lock.kind !== 'MasterLock' && lock.kind !== 'WorkerLock')) return;
      const path = [...listPath, k];
      held.push({ name, path });
      const signature = JSON.stringify([lock.kind, lock.maxCount, lock.maxCountForWorker ?? null]);
      const known = this.byName.get(name);
      if (!known) this.byName.set(name, { signature, path });
      else if (known.signature !== signature) {
        this.add(path, `another lock named "${name}" is defined differently (${formatPath(known.path)}); locks are identified by name`);
      }
    });
    return held;
  }
}
