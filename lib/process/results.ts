/**
 * Build and step result codes and how a step's result merges into its build's, as Buildbot 3.7
 * (process/results.py, process/build.py, process/buildstep.py) defines them. The codes are
 * stored in the DB and sent by the REST API, so they must not change.
 */

export const SUCCESS = 0;
export const WARNINGS = 1;
export const FAILURE = 2;
export const SKIPPED = 3;
export const EXCEPTION = 4;
export const RETRY = 5;
export const CANCELLED = 6;

export type ResultCode = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export const ALL_RESULTS: readonly ResultCode[] = [SUCCESS, WARNINGS, FAILURE, SKIPPED, EXCEPTION, RETRY, CANCELLED];

/** Indexed by code. */
export const RESULT_NAMES = ['success', 'warnings', 'failure', 'skipped', 'exception', 'retry', 'cancelled'] as const;
const RESULT_NAMES_PLURAL = ['successes', 'warnings', 'failures', 'skipped', 'exceptions', 'retries', 'cancelled'] as const;

export function isResultCode(x: unknown): x is ResultCode {
  return typeof x === 'number' && Number.isInteger(x) && x >= SUCCESS && x <= CANCELLED;
}

/** Buildbot's statusToString: 'not finished' for null/undefined (and −1, the DB's "pending"). */
export function resultName(code: number | null | undefined, count = 1): string {
  if (code === null || code === undefined || code === -1) return 'not finished';
  if (!isResultCode(code)) return 'Invalid status';
  return count > 1 ? RESULT_NAMES_PLURAL[code] : RESULT_NAMES[code];
}

// Worst first. SKIPPED ranks below SUCCESS, so a skipped step never spoils a build.
const SEVERITY_ORDER: readonly ResultCode[] = [CANCELLED, RETRY, EXCEPTION, FAILURE, WARNINGS, SUCCESS, SKIPPED];

/** The worse of two results; a value that is not a result code (null, −1) is ignored. */
export function worstStatus(a: number | null | undefined, b: number | null | undefined): ResultCode | null {
  for (const s of SEVERITY_ORDER) if (a === s || b === s) return s;
  return null;
}

/** A step's result settings (BuildStep keyword arguments), with Buildbot's defaults. */
export interface StepResultFlags {
  flunkOnFailure?: boolean; // default true
  warnOnFailure?: boolean; // default false
  warnOnWarnings?: boolean; // default false
  flunkOnWarnings?: boolean; // default false
  haltOnFailure?: boolean; // default false
}

export const DEFAULT_STEP_RESULT_FLAGS: Readonly<Required<StepResultFlags>> = Object.freeze({
  flunkOnFailure: true,
  warnOnFailure: false,
  warnOnWarnings: false,
  flunkOnWarnings: false,
  haltOnFailure: false,
});

function withDefaults(flags: StepResultFlags): Required<StepResultFlags> {
  return {
    flunkOnFailure: flags.flunkOnFailure ?? true,
    warnOnFailure: flags.warnOnFailure ?? false,
    warnOnWarnings: flags.warnOnWarnings ?? false,
    flunkOnWarnings: flags.flunkOnWarnings ?? false,
    haltOnFailure: flags.haltOnFailure ?? false,
  };
}

/**
 * Merge a finished step's result into the build's (computeResultAndTermination):
 * - FAILURE counts as FAILURE with flunkOnFailure, else WARNINGS with warnOnFailure, else SUCCESS;
 *   haltOnFailure ends the build (whatever the flunk/warn flags say).
 * - WARNINGS counts only with warnOnWarnings, and as FAILURE with flunkOnWarnings; never halts.
 * - EXCEPTION, RETRY and CANCELLED count as themselves and always end the build.
 * - SUCCESS and SKIPPED never change a build's result.
 */
export function mergeStepResult(
  buildResult: number,
  stepResult: number,
  flags: StepResultFlags = {},
): { results: ResultCode; terminate: boolean } {
  const f = withDefaults(flags);
  let counted: number = stepResult;
  let terminate = false;
  if (stepResult === FAILURE) {
    counted = f.flunkOnFailure ? FAILURE : f.warnOnFailure ? WARNINGS : SUCCESS;
    terminate = f.haltOnFailure;
  } else if (stepResult === WARNINGS) {
    counted = f.flunkOnWarnings ? FAILURE : f.warnOnWarnings ? WARNINGS : SUCCESS;
  } else if (stepResult === EXCEPTION || stepResult === RETRY || stepResult === CANCELLED) {
    terminate = true;
  }
  return { results: worstStatus(buildResult, counted) ?? SUCCESS, terminate };
}

/**
 * For which step results the step's summary is appended to the build's state_string
 * (BuildStep.updateBuildSummaryPolicy's default).
 */
export function buildSummaryPolicy(flags: StepResultFlags = {}): ResultCode[] {
  const f = withDefaults(flags);
  const policy: ResultCode[] = [EXCEPTION, RETRY, CANCELLED];
  if (f.flunkOnFailure || f.haltOnFailure || f.warnOnFailure) policy.push(FAILURE);
  if (f.warnOnWarnings || f.flunkOnWarnings) policy.push(WARNINGS);
  return policy;
}

/** A finished step's summary: its description, plus ` (result)` unless it succeeded. */
export function stepResultSummary(description: string, results: number): string {
  return results === SUCCESS ? description : `${description} (${resultName(results)})`;
}

const FINAL_WORDS: Record<ResultCode, string> = {
  [SUCCESS]: 'build successful',
  [WARNINGS]: 'warnings',
  [FAILURE]: 'failed',
  [SKIPPED]: 'build successful',
  [EXCEPTION]: 'exception',
  [RETRY]: 'retry',
  [CANCELLED]: 'cancelled',
};

/**
 * A finished build's state_string (Build.allStepsDone): `failed`, `warnings`, `exception`, `retry`,
 * `cancelled` or `build successful`, then `(reason)` if the build was stopped, then the summaries of
 * the steps that reported to the build (see buildSummaryPolicy), space-separated.
 */
export function buildFinalStateString(
  results: number,
  opts: { stoppedReason?: string | null; stepSummaries?: readonly string[] } = {},
): string {
  const words = [isResultCode(results) ? FINAL_WORDS[results] : FINAL_WORDS[SUCCESS]];
  if (opts.stoppedReason !== undefined && opts.stoppedReason !== null) words.push(`(${opts.stoppedReason})`);
  words.push(...(opts.stepSummaries ?? []));
  return words.join(' ');
}
