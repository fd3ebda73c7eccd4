/** Lock declarations in `locks: [...]` of a builder or step: a lock (counting) or lock.access(mode). */
import { z } from 'zod';
import { LOCK_DEFAULTS } from '../defaults.js';
import type { ResolvedLock, ResolvedLockAccess } from '../resolved.js';
import { describeValue, forward, nonEmpty, obj, positiveInt, count, record } from './common.js';

const masterLockOptions = obj({ maxCount: positiveInt().optional() });
const workerLockOptions = obj({ maxCount: positiveInt().optional(), maxCountForWorker: record(count()).optional() });

type Ctx = z.core.$RefinementCtx;

function resolveLock(v: unknown, ctx: Ctx, prefix: (string | number)[]): ResolvedLock | typeof z.NEVER {
  const lock = v as { kind?: unknown; name?: unknown; options?: unknown };
  const name = forward(nonEmpty(), lock.name, subCtx(ctx, [...prefix, 'name']));
  if (lock.kind === 'MasterLock') {
    const o = forward(masterLockOptions, lock.options ?? {}, subCtx(ctx, prefix));
    if (name === z.NEVER || o === z.NEVER) return z.NEVER;
    return { kind: 'MasterLock', name, maxCount: o.maxCount ?? LOCK_DEFAULTS.maxCount };
  }
  const o = forward(workerLockOptions, lock.options ?? {}, subCtx(ctx, prefix));
  if (name === z.NEVER || o === z.NEVER) return z.NEVER;
  return { kind: 'WorkerLock', name, maxCount: o.maxCount ?? LOCK_DEFAULTS.maxCount, maxCountForWorker: { ...(o.maxCountForWorker ?? {}) } };
}

/** A context that prefixes the paths of the issues added through it. */
function subCtx(ctx: Ctx, prefix: (string | number)[]): Ctx {
  if (prefix.length === 0) return ctx;
  return {
    ...ctx,
    addIssue: (issue: any) => ctx.addIssue({ ...issue, path: [...prefix, ...((issue.path as (string | number)[]) ?? [])] }),
  } as Ctx;
}

const isLock = (v: unknown) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  return kind === 'MasterLock' || kind === 'WorkerLock';
};

/** Resolves to a LockAccess; a bare lock means counting access with count 1, as in Buildbot. */
export const lockAccess = z.unknown().transform((v, ctx): ResolvedLockAccess => {
  if (isLock(v)) {
    const lock = resolveLock(v, ctx, []);
    return lock === z.NEVER ? z.NEVER : { kind: 'LockAccess', lock, mode: 'counting', count: 1 };
  }
  const access = v as { kind?: unknown; lock?: unknown; mode?: unknown; count?: unknown } | null;
  if (access?.kind !== 'LockAccess') {
    ctx.addIssue({
      code: 'custom',
      message: `expected a lock (new util.MasterLock(...), new util.WorkerLock(...) or lock.access('exclusive')), got ${describeValue(v)}`,
      input: v,
    });
    return z.NEVER;
  }
  let ok = true;
  if (access.mode !== 'counting' && access.mode !== 'exclusive') {
    ctx.addIssue({ code: 'custom', message: `expected access "counting" or "exclusive", got ${describeValue(access.mode)}`, path: ['mode'], input: v });
    ok = false;
  }
  if (typeof access.count !== 'number' || !Number.isInteger(access.count) || access.count < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a count of 0 or more, got ${describeValue(access.count)}`, path: ['count'], input: v });
    ok = false;
  }
  if (!isLock(access.lock)) {
    ctx.addIssue({ code: 'custom', message: `expected a lock, got ${describeValue(access.lock)}`, path: ['lock'], input: v });
    return z.NEVER;
  }
  const lock = resolveLock(access.lock, ctx, ['lock']);
  if (lock === z.NEVER || !ok) return z.NEVER;
  return { kind: 'LockAccess', lock, mode: access.mode as 'counting' | 'exclusive', count: access.count as number };
});

export const lockList = () => z.array(lockAccess);
