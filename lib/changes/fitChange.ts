import type { ChangeSpec } from '../db/changes.js';

const NAME_MAX = 255;

function cut(s: string | null | undefined, max: number): string | null | undefined {
  if (typeof s !== 'string') return s;
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max).join('');
}

/**
 * A polled commit made storable: the category (a string, or a function of the change as
 * Buildbot's preChangeGenerator gives it) applied, and names longer than their columns cut — a
 * commit with a 300-character author must not block its repository's poller forever.
 */
export function fitChange(change: ChangeSpec, category: string | ((change: ChangeSpec) => string) | undefined): ChangeSpec {
  const out: ChangeSpec = { ...change, author: cut(change.author, NAME_MAX) || 'unknown', committer: cut(change.committer, NAME_MAX) ?? null };
  if (typeof category === 'function') out.category = category({ ...out });
  else if (category !== undefined) out.category = category;
  return out;
}
