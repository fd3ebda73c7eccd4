import { BuildmasterError } from '../errors/BuildmasterError.js';

/** Another master took over a change source while this one was polling it: nothing was stored. */
export class ClaimLostError extends BuildmasterError {
  constructor(readonly changeSource: string) {
    super(`change source ${changeSource} is now run by another master`);
  }
}
