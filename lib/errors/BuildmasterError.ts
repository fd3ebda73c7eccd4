/**
 * Root of our error hierarchy. `userError` errors are the user's to fix (bad config, bad
 * arguments, a DB newer than the code): the CLI prints their message without a stack trace.
 */
export class BuildmasterError extends Error {
  readonly userError: boolean;
  constructor(message: string, options: { userError?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.userError = options.userError ?? false;
  }
}
