import type { Family } from '../types.js';

/**
 * Lines that look like errors but only summarise or advise: the real error is elsewhere in the log.
 * Claimed without reporting, so the broad families after this one never see them.
 */
const BOILERPLATE = new RegExp(
  [
    String.raw`^collect2(?:\.exe)?: error: ld returned \d+ exit status`,
    String.raw`^\S*(?:clang|gcc|g\+\+|cc|c\+\+)(?:-\d+)?(?:\.exe)?: error: linker command failed`,
    String.raw`^cc1\w*: (?:some|all) warnings being treated as errors`,
    String.raw`^error: could not compile `,
    String.raw`^error: aborting due to `,
    String.raw`^error: test failed, to rerun pass `,
    String.raw`^error: \d+ targets? failed`,
    String.raw`^\S*make(?:\.exe)?(?:\[\d+\])?: \*\*\* Waiting for unfinished jobs`,
    String.raw`^\[ERROR\]\s*$`,
    String.raw`^\[ERROR\] (?:To see the full stack trace|Re-run Maven using|For more information about the errors|\[Help \d+\]|-> \[Help|Please refer to|Failures:\s*$|Errors:\s*$|Tests in error:\s*$|Failed tests:\s*$|COMPILATION ERROR\s*:|Tests run:|After correcting the problems)`,
    String.raw`^BUILD FAILED\b`,
    String.raw`^Build FAILED\.`,
  ].join('|'),
);

// Every boilerplate line has one of these; one scan rules the rest out.
const MAYBE = /rror|RROR|\*\*\*|FAILED/;

export const boilerplate: Family = {
  line(text) {
    return MAYBE.test(text) && BOILERPLATE.test(text);
  },
};
