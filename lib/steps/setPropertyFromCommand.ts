/**
 * SetPropertyFromCommand (Buildbot's steps.SetPropertyFromCommand): runs a command and sets
 * `property` to its output (stdout, plus stderr with includeStderr; stripped unless strip: false),
 * or sets whatever `extract_fn(rc, stdout, stderr)` returns. Output is seen with secrets masked,
 * as Buildbot's observer sees it. A `property changes` log lists what was set.
 */
import type { ResolvedSetPropertyFromCommand } from '../config/resolved.js';
import { pyRepr } from '../process/render.js';
import { FAILURE, SUCCESS } from '../process/results.js';
import { runShellStep } from './shellCommand.js';
import type { StepDefinition } from './types.js';

const SOURCE = 'SetPropertyFromCommand Step';

export const setPropertyFromCommandStep: StepDefinition<ResolvedSetPropertyFromCommand> = {
  kind: 'SetPropertyFromCommand',
  async run(ctx, step) {
    const run = await runShellStep(ctx, step, { collectStdout: true, collectStderr: true });
    const { result, results } = run;
    if (result.ended === 'interrupted' || result.ended === 'connectionLost') return { results };
    await run.log.finish();
    const stdout = step.includeStdout ? result.stdout : '';
    const stderr = step.includeStderr ? result.stderr : '';
    let changes: Record<string, unknown>;
    if (step.property !== undefined) {
      if (results === FAILURE) return { results };
      let value = stdout + stderr;
      if (step.strip) value = value.trim();
      changes = { [String(step.property)]: value };
    } else {
      const got = await step.extract_fn!(result.rc, stdout, stderr);
      if (typeof got !== 'object' || got === null || Array.isArray(got)) {
        throw new TypeError(`extract_fn must return an object of properties, not ${Array.isArray(got) ? 'an array' : typeof got}`);
      }
      changes = got as Record<string, unknown>;
    }
    for (const [name, value] of Object.entries(changes)) ctx.setProperty(name, value, SOURCE);
    const names = Object.keys(changes).sort();
    await ctx.addCompleteLog('property changes', names.map((n) => `${n}: ${pyRepr(changes[n])}`).join('\n'));
    const summary = names.length > 1 ? `${names.length} properties set` : names.length === 1 ? `property '${names[0]}' set` : undefined;
    return { results: results === FAILURE ? FAILURE : SUCCESS, summary };
  },
};
