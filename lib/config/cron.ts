/**
 * Cron schedules of Nightly schedulers: Buildbot's fields (minute, hour, dayOfMonth, month,
 * dayOfWeek with 0 = Monday) turned into a standard 5-field expression (0 = Sunday), and checked.
 */
import { CronExpressionParser } from 'cron-parser';

export const CRON_FIELDS = ['minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const;
export type CronFieldName = (typeof CRON_FIELDS)[number];
export type CronFieldValue = number | string | number[];

/** Buildbot's NightlyBase._timeToCron. */
export function fieldToCron(value: CronFieldValue, isDayOfWeek = false): string {
  // Buildbot counts days from Monday = 0; cron from Sunday = 0.
  const day = (d: number) => (d + 1) % 7;
  if (typeof value === 'number') return String(isDayOfWeek ? day(value) : value);
  if (typeof value === 'string') {
    if (!isDayOfWeek) return value;
    return value
      .split(',')
      .map((part) => (/^\s*\d+\s*$/.test(part) ? String(day(Number(part))) : part))
      .join(',');
  }
  return value.map((d) => (isDayOfWeek ? day(d) : d)).join(',');
}

export function nightlyCron(fields: Record<CronFieldName, CronFieldValue>): string {
  return CRON_FIELDS.map((f) => fieldToCron(fields[f], f === 'dayOfWeek')).join(' ');
}

/** Why `expr` is not a usable 5-field cron expression, or undefined when it is. */
export function cronError(expr: string, timezone?: string): string | undefined {
  if (expr.trim().split(/\s+/).length !== 5) return 'expected 5 fields: minute hour day-of-month month day-of-week';
  try {
    CronExpressionParser.parse(expr, timezone ? { tz: timezone } : {}).next();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Why one Buildbot field is bad on its own, or undefined. */
export function cronFieldError(field: CronFieldName, value: CronFieldValue): string | undefined {
  const parts = CRON_FIELDS.map((f) => (f === field ? fieldToCron(value, f === 'dayOfWeek') : '*'));
  if (parts[CRON_FIELDS.indexOf(field)]!.trim() === '' || /\s/.test(parts[CRON_FIELDS.indexOf(field)]!.trim())) {
    return 'expected one cron field';
  }
  return cronError(parts.join(' '));
}

export function timezoneError(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone "${tz}"`;
  }
}
