import type { ResolvedConfig } from './resolved.js';

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** One line for checkconfig and the start-up log: "2 workers, 3 builders, 2 schedulers, 1 change source". */
export function summarizeConfig(c: ResolvedConfig): string {
  return [
    count(c.workers.length, 'worker'),
    count(c.builders.length, 'builder'),
    count(c.schedulers.length, 'scheduler'),
    count(c.changeSources.length, 'change source'),
  ].join(', ');
}
