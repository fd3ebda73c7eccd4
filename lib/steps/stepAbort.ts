import { BuildmasterError } from '../errors/BuildmasterError.js';
import { CANCELLED, FAILURE, RETRY, type ResultCode } from '../process/results.js';

/**
 * Ends a step early with a given result (Buildbot's BuildStepFailed, BuildStepCancelled and
 * ConnectionLost, in one class). The step runner turns it into the step's result; any other
 * exception makes the step EXCEPTION with an `err.text` log.
 */
export class StepAbort extends BuildmasterError {
  constructor(
    readonly results: ResultCode,
    message: string,
  ) {
    super(message);
  }

  static failed(message = 'step failed'): StepAbort {
    return new StepAbort(FAILURE, message);
  }

  static cancelled(message = 'step cancelled'): StepAbort {
    return new StepAbort(CANCELLED, message);
  }

  static connectionLost(message = 'lost connection to the worker'): StepAbort {
    return new StepAbort(RETRY, message);
  }
}

export function isStepAbort(err: unknown): err is StepAbort {
  return err instanceof StepAbort;
}
