/**
 * A benchmark scenario: one folder under bench/scenarios/ whose index.ts exports `scenario`, listed
 * in bench/scenarios/index.ts. The runner handles the options common to all (--out, --no-build,
 * --help); each scenario parses the rest of the command line itself.
 */
export interface BenchContext {
  repoRoot: string;
  /** The command line after the scenario names and the common options, e.g. ['--n', '500']. */
  argv: string[];
  /** JSON lines file the results are appended to (bench/out/<name>.jsonl unless --out). */
  out: string;
  /** Progress, to stderr. */
  log: (line: string) => void;
  /** Results, to stdout. */
  print: (text: string) => void;
}

export interface BenchScenario {
  name: string;
  /** One paragraph for `npm run bench -- --help`: what it measures and its own options. */
  usage: string;
  /** Runs by default (without naming it)? Long or root-only scenarios may say false. */
  byDefault: boolean;
  /** False when it could not run or a correctness check failed; a missed target is printed, not failed. */
  run(ctx: BenchContext): Promise<boolean>;
}
