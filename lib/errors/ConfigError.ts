import { BuildmasterError } from './BuildmasterError.js';

/** One thing wrong with a master.config.ts: where (path in the config, line in the file) and what. */
export interface ConfigProblem {
  /** Location in the config object, e.g. `builders[2].workernames[0]`; '' for the file as a whole. */
  path: string;
  message: string;
  /** 1-based line in `file` (or in the problem's own `file`), when it could be found. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** Set when the problem is in another file than the config (e.g. a helper it imports). */
  file?: string;
}

/**
 * A master.config.ts that cannot be used: it does not load, or it fails validation. Carries every
 * problem found, not just the first; the message lists one per line as `FILE:LINE: PATH: MESSAGE`.
 */
export class ConfigError extends BuildmasterError {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[], options: { cause?: unknown } = {}) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'), { userError: true, cause: options.cause });
    this.file = file;
    this.problems = problems;
  }
}

/**
 * `FILE:LINE: PATH: MESSAGE`. A problem without a path (a syntax error, a failed import) is about a
 * position in the text, so its column is shown too, as compilers do: `FILE:LINE:COLUMN: MESSAGE`.
 */
export function formatProblem(file: string, p: ConfigProblem): string {
  let where = p.file ?? file;
  if (p.line !== undefined) {
    where += `:${p.line}`;
    if (!p.path && p.column !== undefined) where += `:${p.column}`;
  }
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}
