/**
 * Lock declarations (Buildbot's util.MasterLock / util.WorkerLock). A builder or step lists lock
 * accesses in `locks`; a bare lock means counting access. The locks themselves live in lib/process.
 */

export type LockMode = 'counting' | 'exclusive';

export interface MasterLockOptions {
  /** How many holders at once (counting access); default 1. */
  maxCount?: number;
}

export interface WorkerLockOptions extends MasterLockOptions {
  /** Per-worker overrides of maxCount, by worker name. */
  maxCountForWorker?: Record<string, number>;
}

abstract class LockBase {
  abstract readonly kind: 'MasterLock' | 'WorkerLock';
  readonly name: string;
  readonly maxCount: number;
  /** The options as written, checked at load (typos included). */
  readonly options: Readonly<Record<string, unknown>>;

  constructor(name: string, options: object) {
    this.name = name;
    this.options = { ...options };
    const maxCount = (options as { maxCount?: number }).maxCount;
    this.maxCount = maxCount ?? 1;
  }

  /** How a builder or step takes this lock; `count` slots of a counting lock (Buildbot's default 1). */
  access(mode: LockMode, count = 1): LockAccess {
    return new LockAccess(this as unknown as MasterLock | WorkerLock, mode, count);
  }
}

/** Limits something shared by all builders and workers, e.g. a repository server. */
export class MasterLock extends LockBase {
  readonly kind = 'MasterLock' as const;

  constructor(name: string, options: MasterLockOptions = {}) {
    super(name, options);
  }
}

/** Limits something per worker (one copy per worker), e.g. CPU-heavy builds on a small host. */
export class WorkerLock extends LockBase {
  readonly kind = 'WorkerLock' as const;
  /** Per-worker overrides of maxCount, by worker name. */
  readonly maxCountForWorker: Record<string, number>;

  constructor(name: string, options: WorkerLockOptions = {}) {
    super(name, options);
    this.maxCountForWorker = { ...(options.maxCountForWorker ?? {}) };
  }
}

export type Lock = MasterLock | WorkerLock;

export class LockAccess {
  readonly kind = 'LockAccess' as const;

  constructor(
    readonly lock: Lock,
    readonly mode: LockMode,
    readonly count: number = 1,
  ) {}
}
