import { BuildmasterError } from '../../errors/BuildmasterError.js';

/**
 * A change hook request refused: `status` 400 (malformed, with the reason), 401/403 (credentials or
 * signature), 413 (too large). The message is sent back as the response body.
 */
export class HookError extends BuildmasterError {
  readonly expose = true;
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message, { userError: true });
  }
}
