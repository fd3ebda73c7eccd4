/**
 * ShellCommand (Buildbot's steps.ShellCommand) and the shell machinery Compile, Test and
 * SetPropertyFromCommand share: one remote command with its `stdio` log, the builder/worker/step
 * env, timeouts and decodeRC, plus the `logfiles` read back after the command.
 */
import type { ResolvedShellCommand, ResolvedShellFields } from '../config/resolved.js';
import type { LogWriter } from '../logs/logWriter.js';
import type { ResultCode } from '../process/results.js';
import type { CommandEnv } from '../workers/types.js';
import { readLogfiles } from './logfiles.js';
import { interruptSignalOf, runShell, shellResults, type ShellResult } from './remoteShell.js';
import { commandToString } from './summaries.js';
import type { StepContext, StepDefinition } from './types.js';

/** Builder env ← worker env (ctx.baseEnv) ← the step's env; later wins per variable, as Buildbot. */
export function mergedEnv(ctx: StepContext, stepEnv: Record<string, unknown> | undefined): CommandEnv {
  const env: CommandEnv = { ...ctx.baseEnv };
  for (const [name, value] of Object.entries(stepEnv ?? {})) {
    if (value === null) env[name] = null;
    else if (Array.isArray(value)) env[name] = value.map((v) => String(v));
    else if (value !== undefined) env[name] = String(value);
  }
  return env;
}

/** A rendered command: a string, or argv with nested lists flattened (Buildbot flattens too). */
export function renderedCommand(command: unknown): string | string[] {
  if (typeof command === 'string') return command;
  if (Array.isArray(command)) {
    const argv = command.flat(Infinity).map((w) => (typeof w === 'string' ? w : w === null || w === undefined ? '' : String(w)));
    if (argv.length === 0) throw new TypeError('the command is empty');
    return argv;
  }
  throw new TypeError(`the command rendered to ${typeof command}, not a string or a list`);
}

export interface ShellStepRun {
  result: ShellResult;
  results: ResultCode;
  log: LogWriter;
}

/** Run a shell-type step's command with its `stdio` log; `observe` may watch the log's lines. */
export async function runShellStep(
  ctx: StepContext,
  step: ResolvedShellFields,
  opts: { collectStdout?: boolean; collectStderr?: boolean; observe?: (log: LogWriter) => void } = {},
): Promise<ShellStepRun> {
  const log = await ctx.addLog('stdio');
  opts.observe?.(log);
  const result = await runShell(ctx, {
    command: renderedCommand(step.command),
    env: mergedEnv(ctx, step.env),
    timeoutS: step.timeout,
    maxTimeS: step.maxTime,
    interruptSignal: interruptSignalOf(step.interruptSignal),
    sigtermTimeS: step.sigtermTime,
    initialStdin: step.initialStdin,
    logEnviron: step.logEnviron,
    wantStdout: step.want_stdout,
    wantStderr: step.want_stderr,
    collectStdout: opts.collectStdout,
    collectStderr: opts.collectStderr,
    log,
  });
  if (result.ended === 'exit' || result.ended === 'timeout' || result.ended === 'maxTime') {
    await readLogfiles(ctx, step.logfiles, step.lazylogfiles);
  }
  return { result, results: shellResults(result, step.decodeRC), log };
}

export const shellCommandStep: StepDefinition<ResolvedShellCommand> = {
  kind: 'ShellCommand',
  async run(ctx, step) {
    const { results } = await runShellStep(ctx, step);
    return { results };
  },
  defaultDoneSummary: (step) => commandToString(step.command),
};
