/** Our extensions' own query parameters (Endpoint.params), read with a 400 that says which and why. */
import { ApiError } from '../../apiError.js';
import type { Query } from '../../resultSpec.js';

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function intParam(q: Query, name: string): number | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(v)) throw new ApiError(400, `invalid value for ${name}: '${v}' is not an integer`);
  return Number.parseInt(v, 10);
}

export function strParam(q: Query, name: string): string | undefined {
  return one(q, name);
}

/** A branch parameter: `branch=` (empty) means the default branch (null). */
export function branchParam(q: Query, name = 'branch'): string | null | undefined {
  const v = one(q, name);
  return v === undefined ? undefined : v === '' ? null : v;
}

export function choiceParam<T extends string>(q: Query, name: string, choices: readonly T[], dflt: T): T {
  const v = one(q, name);
  if (v === undefined) return dflt;
  if (!(choices as readonly string[]).includes(v)) throw new ApiError(400, `invalid value for ${name}: '${v}' (use ${choices.join(', ')})`);
  return v as T;
}

/** The filters every trend and count query takes. */
export const TREND_PARAMS = ['builderid', 'workerid', 'branch', 'since', 'until'] as const;

export function trendFilter(q: Query): { builderid?: number; workerid?: number; branch?: string | null; since?: number; until?: number } {
  const out: { builderid?: number; workerid?: number; branch?: string | null; since?: number; until?: number } = {};
  const builderid = intParam(q, 'builderid');
  const workerid = intParam(q, 'workerid');
  const branch = branchParam(q);
  const since = intParam(q, 'since');
  const until = intParam(q, 'until');
  if (builderid !== undefined) out.builderid = builderid;
  if (workerid !== undefined) out.workerid = workerid;
  if (branch !== undefined) out.branch = branch;
  if (since !== undefined) out.since = since;
  if (until !== undefined) out.until = until;
  return out;
}
