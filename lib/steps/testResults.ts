/**
 * TestResults (Jenkins' `junit` step; Buildbot has no step of its own for this): finds test
 * report files on the slave by glob (reportFiles.ts), fetches them over SFTP, reads them as JUnit
 * XML (`junit`) or TAP (`tap`), and writes every test's outcome into the step's log as one TAP
 * stream (testResults/tapWriter.ts). When the step finishes, the history analyzer records that log
 * as the step's test_result_set: the reports themselves never go into a log.
 *
 * Any failed test fails the step (summary `12 tests 10 passed 2 failed`); `flunkOnFailure: false,
 * warnOnFailure: true` gives Jenkins' "unstable" instead. No matching file, or files holding no
 * test, fail the step too unless `allowEmptyResults`. Listing needs a POSIX shell (Linux, BSD,
 * macOS workers).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedTestResults } from '../config/resolved.js';
import { parseJUnitXml } from '../history/testResults/junit.js';
import { parseTap } from '../history/testResults/tap.js';
import { formatTap } from '../history/testResults/tapWriter.js';
import type { TestCase } from '../history/testResults/types.js';
import { FAILURE, SUCCESS } from '../process/results.js';
import { listCommand, matching, parseGlob, type ReportGlob } from './reportFiles.js';
import { throwIfAborted } from './remoteShell.js';
import { testSummary } from './test.js';
import { sizeText, withTransfer, workerPath } from './transfer.js';
import type { StepContext, StepDefinition, StepOutcome } from './types.js';

/** A report larger than this is refused unless `maxsize` says otherwise (the analyzer's cap too). */
export const DEFAULT_REPORT_MAXSIZE = 64 * 1024 * 1024;
/** More matching files than this fail the step: the glob is almost certainly too wide. */
const MAX_FILES = 10_000;

type Format = 'junit' | 'tap';

interface Report {
  format: Format;
  path: string;
}

const PARSERS: Readonly<Record<Format, (text: Buffer) => TestCase[]>> = { junit: parseJUnitXml, tap: parseTap };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The files the globs match on the slave, in glob order then path order, each once. */
async function findReports(ctx: StepContext, globs: readonly { format: Format; glob: ReportGlob }[]): Promise<{ reports: Report[]; problem?: string }> {
  const r = await ctx.conn.runCapture({
    command: listCommand(globs.map((g) => g.glob), (s) => ctx.platform.quote(s)),
    workdir: ctx.workdir,
    createWorkdir: false,
    timeoutS: 300,
    signal: ctx.signal,
  });
  throwIfAborted(r);
  if (r.rc !== 0) return { reports: [], problem: `cannot list files in ${ctx.workdir}: ${r.stderr.trim() || r.message}` };
  const seen = new Set<string>();
  const reports: Report[] = [];
  for (const { format, glob } of globs) {
    for (const path of matching(glob, r.stdout)) {
      if (seen.has(path)) continue;
      seen.add(path);
      reports.push({ format, path });
    }
  }
  return { reports };
}

function summaryOf(cases: readonly TestCase[]): string {
  const passed = cases.filter((c) => c.status === 'pass').length;
  const failed = cases.filter((c) => c.status === 'fail').length;
  const skipped = cases.length - passed - failed;
  const words = testSummary({ total: cases.length, passed, failed, warnings: 0 }) ?? 'no tests';
  return skipped ? `${words} ${skipped} skipped` : words;
}

export const testResultsStep: StepDefinition<ResolvedTestResults> = {
  kind: 'TestResults',
  async run(ctx, step): Promise<StepOutcome> {
    const log = await ctx.addLog('stdio');
    const globs = [
      ...step.junit.map((g) => ({ format: 'junit' as const, glob: parseGlob(String(g)) })),
      ...step.tap.map((g) => ({ format: 'tap' as const, glob: parseGlob(String(g)) })),
    ];
    const wanted = globs.map((g) => `${g.format} ${g.glob.pattern}`).join(', ');
    if (ctx.platform.shell !== 'sh') {
      log.addHeader(`TestResults needs a POSIX shell to find report files; worker ${ctx.workerName} runs ${ctx.platform.shell}`);
      return { results: FAILURE, summary: 'no POSIX shell' };
    }
    log.addHeader(`looking for test reports (${wanted}) in ${ctx.workdir} on worker ${ctx.workerName}`);
    const { reports, problem } = await findReports(ctx, globs);
    if (problem) log.addHeader(problem);
    const empty = (why: string): StepOutcome => {
      log.addHeader(step.allowEmptyResults ? `${why} (allowEmptyResults)` : why);
      return { results: step.allowEmptyResults ? SUCCESS : FAILURE, summary: 'no test results' };
    };
    if (reports.length === 0) return empty(`no file matches ${wanted}`);
    if (reports.length > MAX_FILES) {
      log.addHeader(`${reports.length} files match ${wanted}: more than ${MAX_FILES}, is a glob too wide?`);
      return { results: FAILURE, summary: 'too many test reports' };
    }

    const maxsize = step.maxsize ?? DEFAULT_REPORT_MAXSIZE;
    const cases: TestCase[] = [];
    const fetched = await withTransfer(ctx, log, async (sftp) => {
      const dir = await mkdtemp(join(tmpdir(), 'bm-reports-'));
      try {
        for (const [i, report] of reports.entries()) {
          const src = workerPath(ctx, report.path);
          const st = await sftp.stat(src);
          if (!st?.isFile()) throw new Error(`Cannot read '${src}': ${st ? 'not a regular file' : 'it went away'}`);
          if (st.size > maxsize) throw new Error(`Maximum filesize reached: '${src}' has ${sizeText(st.size)}, maxsize is ${maxsize}`);
          const local = join(dir, String(i));
          await sftp.downloadFile(src, local, { mkdirs: false });
          const found = PARSERS[report.format](await readFile(local));
          await rm(local, { force: true });
          log.addHeader(`${report.path} (${report.format}): ${summaryOf(found)}`);
          cases.push(...found);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return `read ${plural(reports.length, 'report')}`;
    });
    if (fetched.results !== SUCCESS) return fetched;
    if (cases.length === 0) return empty(`no test in ${plural(reports.length, 'report')}`);

    log.addStdout(formatTap(cases));
    log.endOutput();
    const failed = cases.some((c) => c.status === 'fail');
    return { results: failed ? FAILURE : SUCCESS, summary: summaryOf(cases) };
  },
};
