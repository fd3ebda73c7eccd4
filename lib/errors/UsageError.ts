import { BuildmasterError } from './BuildmasterError.js';

/** Wrong command-line use or a missing/invalid master directory: the user's to fix. */
export class UsageError extends BuildmasterError {
  constructor(message: string) {
    super(message, { userError: true });
  }
}
