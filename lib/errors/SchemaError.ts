import { BuildmasterError } from './BuildmasterError.js';

/**
 * The database schema is not one this code can use: newer than the code, made by an unsupported
 * Buildbot version, not a Buildbot database at all, or not yet upgraded. The user's to fix
 * (usually with `buildmaster upgrade-master DIR`), so the message says what to do.
 */
export class SchemaError extends BuildmasterError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { userError: true, cause: options.cause });
  }
}
