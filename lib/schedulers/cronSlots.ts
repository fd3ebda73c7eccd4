/** Slots of a 5-field cron expression (cron-parser), in epoch seconds. */
import { CronExpressionParser } from 'cron-parser';

/** The first slot strictly after `after`. */
export function cronNext(expr: string, after: number, timezone?: string): number {
  const it = CronExpressionParser.parse(expr, { currentDate: new Date(after * 1000), ...(timezone ? { tz: timezone } : {}) });
  return it.next().getTime() / 1000;
}

/** The latest slot at or before `at`. */
export function cronLatest(expr: string, at: number, timezone?: string): number {
  const it = CronExpressionParser.parse(expr, { currentDate: new Date(at * 1000 + 1), ...(timezone ? { tz: timezone } : {}) });
  return it.prev().getTime() / 1000;
}

/**
 * The next slot after `last` (or after `now` when never built); when that is already due, the
 * latest due slot, so a scheduler that was down over several slots builds once.
 */
export function nextCronSlot(expr: string, last: number | null, now: number, timezone?: string): number {
  const next = cronNext(expr, last ?? now, timezone);
  return next > now ? next : cronLatest(expr, now, timezone);
}
