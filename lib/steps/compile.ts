/**
 * Compile (Buildbot's steps.Compile, a WarningCountingShellCommand): a shell command whose
 * output lines matching `warning[: ]` are counted. The count is added to the `warnings-count`
 * property, the lines go to a `warnings (N)` log, and any warning makes the step WARNINGS.
 */
import type { ResolvedCompile, ResolvedShellFields } from '../config/resolved.js';
import type { LogWriter } from '../logs/logWriter.js';
import { WARNINGS, worstStatus, type ResultCode } from '../process/results.js';
import { runShellStep, type ShellStepRun } from './shellCommand.js';
import { commandToString } from './summaries.js';
import type { StepContext, StepDefinition } from './types.js';
import { WarningCounter } from './warningCounter.js';

export async function runWarningCountingStep(
  ctx: StepContext,
  step: ResolvedShellFields,
  observe?: (log: LogWriter) => void,
): Promise<ShellStepRun & { warnings: number }> {
  const counter = new WarningCounter();
  const run = await runShellStep(ctx, step, {
    observe: (log) => {
      log.observe(counter.onLine);
      observe?.(log);
    },
  });
  if (run.result.ended === 'connectionLost') return { ...run, warnings: counter.count };
  // As Buildbot: the stdio log is finished before the summary is made.
  await run.log.finish();
  if (counter.count) await ctx.addCompleteLog(`warnings (${counter.count})`, counter.logText());
  const old = Number(ctx.properties.getProperty('warnings-count', 0)) || 0;
  ctx.setProperty('warnings-count', old + counter.count, 'WarningCountingShellCommand');
  const results: ResultCode = counter.count ? (worstStatus(run.results, WARNINGS) ?? run.results) : run.results;
  return { ...run, results, warnings: counter.count };
}

export const compileStep: StepDefinition<ResolvedCompile> = {
  kind: 'Compile',
  async run(ctx, step) {
    const { results } = await runWarningCountingStep(ctx, step);
    return { results };
  },
  defaultDoneSummary: (step) => commandToString(step.command),
};
