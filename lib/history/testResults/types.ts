/** One test's outcome as a report or a log tells it, before it is stored. */
export interface TestCase {
  /** The test's full name as the runner reports it (JUnit: `classname.name`, TAP: the description). */
  name: string;
  status: 'pass' | 'fail' | 'skip';
  /** Source file, when the report says (pytest's and jest's `file`). */
  file?: string;
  line?: number;
  durationNs?: number;
  /** The failure's message (first line), for the UI. */
  message?: string;
  /** Passed only on a rerun (surefire's flakyFailure, a TAP `# TODO`-less retry): a flakiness hint. */
  flaky?: boolean;
}
