/**
 * Test (Buildbot's steps.Test): a warning-counting shell command (see compile.ts) that also reads
 * the summary lines of common test runners (testCounter.ts). With counts, the step's summary is
 * Buildbot's `12 tests 10 passed 2 failed`, and the build gets the properties `tests-total`,
 * `tests-passed`, `tests-failed` and `tests-warnings` (added to earlier Test steps' counts).
 */
import type { ResolvedTest } from '../config/resolved.js';
import { runWarningCountingStep } from './compile.js';
import { commandToString } from './summaries.js';
import { TestCounter, type TestCounts } from './testCounter.js';
import type { StepDefinition } from './types.js';

/** Buildbot's Test.getResultSummary words. */
export function testSummary(c: TestCounts): string | undefined {
  const words: string[] = [];
  const total = c.total || c.failed + c.passed + c.warnings;
  if (total) words.push(String(total), 'tests');
  if (c.passed) words.push(String(c.passed), 'passed');
  if (c.warnings) words.push(String(c.warnings), 'warnings');
  if (c.failed) words.push(String(c.failed), 'failed');
  return words.length ? words.join(' ') : undefined;
}

export const testStep: StepDefinition<ResolvedTest> = {
  kind: 'Test',
  async run(ctx, step) {
    const counter = new TestCounter();
    const run = await runWarningCountingStep(ctx, step, (log) =>
      log.observe((line) => {
        if (line.channel !== 'h') counter.feed(line.text);
      }),
    );
    const counts = counter.counts();
    if (!counts || run.result.ended === 'connectionLost') return { results: run.results };
    for (const key of ['total', 'passed', 'failed', 'warnings'] as const) {
      const name = `tests-${key}`;
      const old = Number(ctx.properties.getProperty(name, 0)) || 0;
      ctx.setProperty(name, old + counts[key], 'Test');
    }
    return { results: run.results, summary: testSummary(counts) };
  },
  defaultDoneSummary: (step) => commandToString(step.command),
};
