/**
 * Exit statuses that report an outcome rather than an error: `stop` and a stopping master say how
 * the master ended, `reconfig` that the config was rejected. A command throws ExitStatus (after
 * printing what it has to say); main() returns its code without printing anything more.
 *
 *   0  clean: every running build finished (or none ran)
 *   3  not running (reconfig; `stop` of a stopped master exits 0, as Buildbot's and LSB's do)
 *   4  stopped after the shutdown bound: builds still running ended RETRY and will run again
 *   5  stopped at once (a second signal, or stop --timeout ran out): running builds ended RETRY
 *   6  the master process went away without a clean shutdown (killed); its next start cleans up
 *   7  reconfig rejected: the old config stays in force
 * (1 is a user error, 2 wrong usage, 70 an internal error, as for every command.)
 */
export const EXIT_NOT_RUNNING = 3;
export const EXIT_STOPPED_AFTER_BOUND = 4;
export const EXIT_STOPPED_FORCED = 5;
export const EXIT_STOPPED_UNCLEAN = 6;
export const EXIT_RECONFIG_REJECTED = 7;

export class ExitStatus extends Error {
  constructor(readonly code: number, message = `exit status ${code}`) {
    super(message);
    this.name = 'ExitStatus';
  }
}

/** The exit status for how a stop ended. */
export function stopExitCode(outcome: 'clean' | 'bound' | 'forced'): number {
  return outcome === 'clean' ? 0 : outcome === 'bound' ? EXIT_STOPPED_AFTER_BOUND : EXIT_STOPPED_FORCED;
}
