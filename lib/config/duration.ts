/**
 * Durations in master.config.ts: a number of seconds, or a string of one or more
 * `<number><unit>` groups with units w, d, h, m, s (`'30d'`, `'12h'`, `'1h30m'`, `'90s'`).
 */
export type Duration = number | string;

const UNIT_SECONDS: Record<string, number> = { w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1 };
const GROUP = /(\d+(?:\.\d+)?)\s*([wdhms])/g;
const WHOLE = /^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$/;

/** Seconds, or undefined when `value` is not a duration (negative numbers included). */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return Number(value);
  if (!WHOLE.test(value)) return undefined;
  let seconds = 0;
  for (const [, n, unit] of value.matchAll(GROUP)) seconds += Number(n) * UNIT_SECONDS[unit!]!;
  return seconds;
}

export const DURATION_HINT = 'use seconds or a string like "30d", "12h", "15m", "45s"';
