import { BuildmasterError } from '../errors/BuildmasterError.js';

/** A git or hg command a poller ran failed: the message names the command, exit code and stderr. */
export class VcsError extends BuildmasterError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}
