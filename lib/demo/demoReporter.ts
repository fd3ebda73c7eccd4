/**
 * Prints what the master does as it happens, from its message bus: builds started and finished,
 * steps finished with their result and duration, and log lines that say warning or error, and TAP's
 * `not ok` lines.
 */
import type { MessageBus } from '../master/bus.js';
import { resultName } from '../process/results.js';

interface BuildMsg {
  buildid: number;
  number: number;
  builderid: number;
  results?: number | null;
  state_string?: string;
}
interface StepMsg {
  stepid: number;
  buildid: number;
  number: number;
  name: string;
  results?: number | null;
  state_string?: string;
  hidden?: boolean;
  started_at?: number | null;
  complete_at?: number | null;
}
interface LogMsg {
  logid: number;
  stepid?: number;
  type?: string;
  lines?: string[];
}

export class DemoReporter {
  private readonly builds = new Map<number, { label: string; startedMs: number }>();
  private readonly stepStarts = new Map<number, number>();
  private readonly stepBuilds = new Map<number, number>();
  private readonly logs = new Map<number, { stepid: number; type?: string }>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    bus: MessageBus,
    private readonly builderName: (builderid: number) => string,
    private readonly print: (line: string) => void,
  ) {
    const on = <M>(pattern: string[], fn: (m: M) => void) =>
      this.unsubscribe.push(bus.subscribe(pattern, (_key, message) => fn(message as M)));
    on<BuildMsg>(['builds', '*', 'new'], (b) => this.buildStarted(b));
    on<BuildMsg>(['builds', '*', 'finished'], (b) => this.buildFinished(b));
    on<StepMsg>(['steps', '*', 'started'], (s) => {
      this.stepStarts.set(s.stepid, Date.now());
      this.stepBuilds.set(s.stepid, s.buildid);
    });
    on<StepMsg>(['steps', '*', 'finished'], (s) => this.stepFinished(s));
    on<LogMsg>(['logs', '*', 'new'], (l) => {
      if (l.stepid !== undefined) this.logs.set(l.logid, { stepid: l.stepid, type: l.type });
    });
    on<LogMsg>(['logs', '*', 'append'], (l) => this.logAppended(l));
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private label(buildid: number): string {
    return this.builds.get(buildid)?.label ?? `build ${buildid}`;
  }

  private buildStarted(b: BuildMsg): void {
    const label = `${this.builderName(b.builderid)} #${b.number}`;
    this.builds.set(b.buildid, { label, startedMs: Date.now() });
    this.print(`${clock()} ${label} started`);
  }

  private buildFinished(b: BuildMsg): void {
    const build = this.builds.get(b.buildid);
    const took = build ? ` in ${seconds(Date.now() - build.startedMs)}` : '';
    this.print(`${clock()} ${this.label(b.buildid)} finished: ${resultName(b.results).toUpperCase()}${took}`);
  }

  private stepFinished(s: StepMsg): void {
    if (s.hidden) return;
    const startMs = this.stepStarts.get(s.stepid);
    this.stepStarts.delete(s.stepid);
    this.stepBuilds.delete(s.stepid);
    // DB times are whole seconds; our own clock is better when we saw the start.
    const ms = startMs !== undefined ? Date.now() - startMs : s.started_at && s.complete_at ? (s.complete_at - s.started_at) * 1000 : undefined;
    const state = s.state_string ? ` (${s.state_string})` : '';
    this.print(
      `${clock()}   ${this.label(s.buildid)} step ${s.number} '${s.name}': ${resultName(s.results)}${ms === undefined ? '' : `, ${seconds(ms)}`}${state}`,
    );
  }

  private logAppended(l: LogMsg): void {
    const log = this.logs.get(l.logid);
    const buildid = log ? this.stepBuilds.get(log.stepid) : undefined;
    for (const raw of l.lines ?? []) {
      // Lines of a stdio ('s') log start with Buildbot's stream letter: o(ut), e(rr), h(eader).
      const line = log?.type === 's' ? raw.slice(1) : raw;
      if (!/\bwarning\b|\berror:|^not ok\b/i.test(line)) continue;
      this.print(`${clock()}     ${buildid === undefined ? '' : `${this.label(buildid)}: `}${line.trim()}`);
    }
  }
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}
