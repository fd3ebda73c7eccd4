/** Step implementations by the config's `kind` (code switches on kind, never instanceof). */
import type { ResolvedStep } from '../config/resolved.js';
import { compileStep } from './compile.js';
import { directoryUploadStep } from './directoryUpload.js';
import { fileDownloadStep } from './fileDownload.js';
import { fileUploadStep } from './fileUpload.js';
import { gitStep } from './git.js';
import { setPropertyFromCommandStep } from './setPropertyFromCommand.js';
import { shellCommandStep } from './shellCommand.js';
import { testStep } from './test.js';
import { testResultsStep } from './testResults.js';
import { triggerStep } from './trigger.js';
import type { StepDefinition } from './types.js';

type Registry = { [K in ResolvedStep['kind']]: StepDefinition<Extract<ResolvedStep, { kind: K }>> };

export const STEP_DEFINITIONS: Registry = {
  ShellCommand: shellCommandStep,
  Compile: compileStep,
  Test: testStep,
  SetPropertyFromCommand: setPropertyFromCommandStep,
  Git: gitStep,
  FileUpload: fileUploadStep,
  FileDownload: fileDownloadStep,
  DirectoryUpload: directoryUploadStep,
  TestResults: testResultsStep,
  Trigger: triggerStep,
};

/** The implementation of a step kind; throws for a kind this master does not know. */
export function stepDefinition(kind: string): StepDefinition {
  const def = (STEP_DEFINITIONS as unknown as Record<string, StepDefinition | undefined>)[kind];
  if (!def) throw new TypeError(`unknown step kind '${kind}'`);
  return def;
}
