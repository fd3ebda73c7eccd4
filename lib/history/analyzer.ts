/**
 * HistoryAnalyzer: when a step finishes, read its logs back from the DB and record what they say
 * for trending — error lines as failure signatures (signatures.ts), test results in Buildbot's
 * test tables (testResults/), then intermittent marks (intermittents.ts).
 *
 * Off the build's hot path: the bus listener only queues the step id (bounded; beyond the bound a
 * step is dropped with a warning, not waited for), and one step at a time is analysed in the
 * background, reading its logs chunk by chunk (1000 lines at a time), so a build never waits for
 * it and a huge log never sits in memory whole.
 *
 * What a log holds is decided by its first lines: a JUnit XML report (a file a step read into a log
 * with Buildbot's `logfiles`, or printed) is parsed as JUnit; a TAP stream (`TAP version 13`,
 * `1..N`; what the TestResults step writes of the reports it fetched) as TAP, one pass_fail result
 * set per such log; anything else goes to the log parser
 * (parser/), whose failed test names and counts make one `fail_only` set per step when no log of
 * the step had structured results.
 */
import { IdQueue } from './idQueue.js';
import type { Database } from '../db/connection.js';
import { getBuild } from '../db/builds.js';
import { getLogChunks, getLogs, type LogRow } from '../db/logs.js';
import { select } from '../db/query.js';
import { getStep } from '../db/steps.js';
import { readLinesAsync } from '../logs/chunkCodec.js';
import type { MessageBus } from '../master/bus.js';
import { EXCEPTION, FAILURE, WARNINGS } from '../process/results.js';
import type { Logger } from '../util/log.js';
import { DEFAULT_INTERMITTENT_POLICY, evaluateIntermittents, type EvaluatedTest, type IntermittentPolicy } from './intermittents.js';
import { LogParser } from './parser/index.js';
import type { ParsedLog } from './parser/types.js';
import { recordStepFailures, type ErrorLine } from './signatures.js';
import { looksLikeJUnit, parseJUnitXml } from './testResults/junit.js';
import { buildStamps, caseValues, recordTestResults } from './testResults/store.js';
import { looksLikeTap, TapReader } from './testResults/tap.js';
import type { TestCase } from './testResults/types.js';

/** What the analyzer needs of a streaming log parser (parser/index.ts LogParser). */
export interface StreamingParser {
  push(text: string, lineNumber: number): void;
  finish(): ParsedLog;
}

export interface HistoryAnalyzerOptions {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  /** Steps waiting beyond this many are dropped (default 1000). */
  maxQueue?: number;
  /** When a test is intermittent; unset fields keep DEFAULT_INTERMITTENT_POLICY's (config.history.intermittent). */
  policy?: Partial<IntermittentPolicy>;
  /** Error lines kept per log (default 100; config.history.maxErrorLines). */
  maxErrorLines?: number;
  /** A parser per log (default: parser/index.ts's LogParser). */
  newParser?: (opts: { maxErrorLines: number }) => StreamingParser;
}

/** What analysing one step recorded (also the `['history', stepid, 'analyzed']` message). */
export interface StepAnalysis {
  stepid: number;
  buildid: number;
  /** Error lines handed to recordStepFailures (0 when the step succeeded). */
  errors: number;
  test_result_setids: number[];
  intermittent: EvaluatedTest[];
  /** Why nothing was recorded, if so. */
  skipped?: string;
}

const LINES_PER_READ = 1000;
/** A JUnit report is parsed whole: keep at most this much of one. */
const MAX_REPORT_CHARS = 64 * 1024 * 1024;
/** Lines looked at to tell what a log holds. */
const SNIFF_LINES = 5;
/** Step results whose error lines are worth a signature. */
const FAILED_RESULTS: ReadonlySet<number> = new Set([WARNINGS, FAILURE, EXCEPTION]);
/** A step that ended so has partial logs: nothing is recorded. */
const SKIPPED_RESULTS: ReadonlySet<number> = new Set([3 /* SKIPPED */, 5 /* RETRY */, 6 /* CANCELLED */]);

type LogKind = 'junit' | 'tap' | 'text';

interface LogOutcome {
  log: LogRow;
  kind: LogKind;
  parsed?: ParsedLog;
  cases?: TestCase[];
}

export class HistoryAnalyzer {
  private readonly queue: IdQueue;
  private unsubscribe: (() => void) | undefined;
  private readonly logger: Logger;
  private maxErrorLines: number;
  private policy: IntermittentPolicy;

  constructor(private readonly opts: HistoryAnalyzerOptions) {
    this.logger = opts.logger.child({ component: 'history' });
    this.maxErrorLines = opts.maxErrorLines ?? 100;
    this.policy = { ...DEFAULT_INTERMITTENT_POLICY, ...definedOnly(opts.policy ?? {}) };
    this.queue = new IdQueue({
      max: opts.maxQueue ?? 1000,
      work: async (stepid) => {
        const result = await this.analyzeStep(stepid);
        this.opts.bus.publish(['history', String(stepid), 'analyzed'], result);
      },
      onDrop: (stepid, dropped) => this.logger.warn({ event: 'history.queueFull', stepid, dropped }, 'history analysis is behind: a finished step was not analysed'),
      onError: (stepid, err) => this.logger.error({ event: 'history.analyzeFailed', stepid, err: (err as Error).message }, 'could not analyse a finished step'),
    });
  }

  /** Starts listening for finished steps. */
  static start(opts: HistoryAnalyzerOptions): HistoryAnalyzer {
    const analyzer = new HistoryAnalyzer(opts);
    analyzer.unsubscribe = opts.bus.subscribe(['steps', '*', 'finished'], (key) => analyzer.enqueue(Number(key[1])));
    return analyzer;
  }

  /** New settings (a reconfig): they apply from the next step analysed. */
  reconfig(settings: { maxErrorLines?: number; policy?: Partial<IntermittentPolicy> }): void {
    if (settings.maxErrorLines !== undefined) this.maxErrorLines = settings.maxErrorLines;
    if (settings.policy) this.policy = { ...DEFAULT_INTERMITTENT_POLICY, ...definedOnly(settings.policy) };
  }

  /** Queues a step for analysis (cheap: the caller is the build publishing its step). */
  enqueue(stepid: number): void {
    this.queue.push(stepid);
  }

  /** Resolves once every queued step is analysed. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops listening, drops what waits, and lets the step in progress finish (up to timeoutMs). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.unsubscribe?.();
    await this.queue.stop(timeoutMs);
  }

  /** Reads one finished step's logs and records errors, test results and intermittent marks. */
  async analyzeStep(stepid: number): Promise<StepAnalysis> {
    const { db } = this.opts;
    const step = await getStep(db, stepid);
    const base: StepAnalysis = { stepid, buildid: step ? Number(step.buildid) : -1, errors: 0, test_result_setids: [], intermittent: [] };
    if (!step || step.complete_at === null) return { ...base, skipped: 'step not finished' };
    if (step.results === null || SKIPPED_RESULTS.has(Number(step.results))) return { ...base, skipped: 'step skipped, cancelled or retried' };
    const build = await getBuild(db, step.buildid);
    if (!build) return { ...base, skipped: 'build gone' };

    const outcomes: LogOutcome[] = [];
    for (const log of await getLogs(db, stepid)) {
      if (log.type !== 's' && log.type !== 't') continue;
      outcomes.push(await this.readLog(log));
    }

    const builderid = Number(build.builderid);
    const stamp = (await buildStamps(db, [build.buildrequestid])).get(Number(build.buildrequestid));
    const out = { ...base };

    if (FAILED_RESULTS.has(Number(step.results))) {
      // Every log's error lines in one call: recordStepFailures records a step once.
      const errors: ErrorLine[] = [];
      for (const o of outcomes) {
        if (!o.parsed || o.parsed.errors.length === 0) continue;
        const logid = Number(o.log.id);
        // Longest first: `t_a` must not claim the line of `t_ab`.
        const failedTests = [...o.parsed.tests.failed].sort((a, b) => b.length - a.length);
        for (const e of o.parsed.errors) {
          // The failing test a line names (pytest's `FAILED a.py::t - …`), for per-test counts.
          const test = failedTests.find((name) => e.text.includes(name));
          errors.push(test ? { line: e.line, text: e.text, test, logid } : { line: e.line, text: e.text, logid });
        }
      }
      if (errors.length > 0) {
        await recordStepFailures(
          db,
          {
            buildid: Number(build.id),
            stepid,
            logid: errors[0].logid ?? null,
            builderid,
            workerid: build.workerid === null ? null : Number(build.workerid),
            branch: stamp?.branch ?? null,
            revision: stamp?.revision ?? null,
            at: Number(step.complete_at),
          },
          errors,
        );
        out.errors = errors.length;
      }
    }

    if (!(await this.hasResultSets(Number(build.id), stepid))) {
      const set = { builderid, buildid: Number(build.id), stepid };
      for (const o of outcomes) {
        if (!o.cases) continue;
        const description = o.log.name === 'stdio' ? step.name : `${step.name} ${o.log.name}`;
        const recorded = await recordTestResults(db, { ...set, description, category: 'pass_fail', value_unit: 'boolean' }, caseValues(o.cases));
        out.test_result_setids.push(recorded.test_result_setid);
      }
      if (out.test_result_setids.length === 0) {
        const fromText = mergeTests(outcomes);
        if (fromText) {
          const values = fromText.failed.map((name) => ({ value: '0', test_name: name }));
          const recorded = await recordTestResults(db, { ...set, description: step.name, category: 'fail_only', value_unit: 'boolean' }, values, {
            passed: fromText.passed,
            failed: fromText.failedCount,
          });
          out.test_result_setids.push(recorded.test_result_setid);
        }
      }
      if (out.test_result_setids.length > 0) {
        out.intermittent = await evaluateIntermittents(
          db,
          { builderid, setids: out.test_result_setids, buildid: Number(build.id) },
          this.policy,
        );
      }
    }
    return out;
  }

  private async hasResultSets(buildid: number, stepid: number): Promise<boolean> {
    const rows = await select(this.opts.db, 'SELECT id FROM test_result_sets WHERE buildid = ? AND stepid = ? LIMIT 1', [buildid, stepid]);
    return rows.length > 0;
  }

  /** One log, read chunk by chunk: what it holds, parsed. */
  private async readLog(log: LogRow): Promise<LogOutcome> {
    const { maxErrorLines } = this;
    const parser = this.opts.newParser?.({ maxErrorLines }) ?? new LogParser({ maxErrorLines });
    let kind: LogKind | undefined;
    const head: { text: string; lineNo: number }[] = [];
    let tap: TapReader | undefined;
    let report = '';

    const take = (text: string, lineNo: number) => {
      if (kind === 'junit') {
        if (report.length < MAX_REPORT_CHARS) report += `${text}\n`;
        return;
      }
      if (kind === 'tap') tap!.push(text);
      parser.push(text, lineNo);
    };
    const decide = (final: boolean) => {
      const meaningful = head.filter((l) => l.text.trim() !== '');
      if (!final && meaningful.length < SNIFF_LINES) return;
      const joined = meaningful.map((l) => l.text).join('\n');
      kind = looksLikeJUnit(joined) ? 'junit' : meaningful.length > 0 && looksLikeTap(meaningful[0].text) ? 'tap' : 'text';
      if (kind === 'tap') tap = new TapReader();
      for (const l of head.splice(0)) take(l.text, l.lineNo);
    };

    const total = Number(log.num_lines);
    for (let first = 0; first < total; first += LINES_PER_READ) {
      const last = Math.min(total, first + LINES_PER_READ) - 1;
      const rows = await getLogChunks(this.opts.db, Number(log.id), first, last);
      const { firstLine, lines } = await readLinesAsync(rows, first, last);
      lines.forEach((raw, i) => {
        let text = raw;
        if (log.type === 's') {
          if (raw[0] === 'h') return; // the header Buildbot's shell steps write (command, env)
          text = raw.slice(1);
        }
        const lineNo = firstLine + i + 1;
        if (kind === undefined) {
          head.push({ text, lineNo });
          decide(false);
        } else take(text, lineNo);
      });
    }
    if (kind === undefined) decide(true);

    if (kind === 'junit') return { log, kind, cases: parseJUnitXml(report) };
    const parsed = parser.finish();
    if (kind === 'tap') return { log, kind, parsed, cases: tap!.finish() };
    return { log, kind: 'text', parsed };
  }
}

/** The parser's test names and counts over the step's text logs; undefined when none said anything. */
function mergeTests(outcomes: readonly LogOutcome[]): { failed: string[]; passed: number | null; failedCount: number } | undefined {
  const failed = new Set<string>();
  let passed: number | null = null;
  let failedCount: number | undefined;
  for (const o of outcomes) {
    if (o.kind !== 'text' || !o.parsed) continue;
    const t = o.parsed.tests;
    for (const name of t.failed) failed.add(name);
    if (t.passed !== null) passed = (passed ?? 0) + t.passed;
    if (t.failedCount !== undefined) failedCount = (failedCount ?? 0) + t.failedCount;
  }
  if (failed.size === 0 && passed === null && failedCount === undefined) return undefined;
  return { failed: [...failed], passed, failedCount: Math.max(failedCount ?? 0, failed.size) };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
