/**
 * One remote command of a step, logged the way Buildbot's worker and RemoteShellCommand log it:
 *
 *   h<command>
 *   h in dir <workdir> (timeout 1200 secs)
 *   h watching logfiles {}
 *   h argv: ['/bin/sh', '-c', 'make all']
 *   h environment:            (with logEnviron)
 *   h  NAME=value
 *   h using PTY: False
 *   o… e…                      (the output)
 *   hprogram finished with exit code 0
 *   helapsedTime=0.007672
 *
 * A kill adds its reason (`command timed out: 1200 seconds without output running …, attempting
 * to kill`) and `process killed by signal 9`; a lost connection adds why.
 */
import { constants as osConstants } from 'node:os';
import type { LogWriter } from '../logs/logWriter.js';
import { pyRepr } from '../process/render.js';
import { CANCELLED, FAILURE, RETRY, type ResultCode } from '../process/results.js';
import { normalizeEnv } from '../workers/platforms/platform.js';
import type { RunOptions } from '../workers/remoteCommand.js';
import type { CommandEnv, InterruptSignal, RunResult } from '../workers/types.js';
import { StepAbort } from './stepAbort.js';
import type { StepContext } from './types.js';

export interface ShellRunOptions {
  command: string | string[];
  /** Absolute on the slave; default the step's workdir. */
  workdir?: string;
  /** The complete env for this command (already merged). */
  env?: CommandEnv;
  /** Seconds without output; null/0 = none; default 1200. */
  timeoutS?: number | null;
  maxTimeS?: number | null;
  interruptSignal?: InterruptSignal;
  sigtermTimeS?: number;
  initialStdin?: string | Buffer;
  logEnviron?: boolean;
  wantStdout?: boolean;
  wantStderr?: boolean;
  collectStdout?: boolean;
  collectStderr?: boolean;
  /** Where headers and output go; without one the command runs unlogged. */
  log?: LogWriter;
  /** Extra observers of the raw output (after decoding, before line splitting). */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  createWorkdir?: boolean;
}

export interface ShellResult extends RunResult {
  /** Collected output, secrets masked (Buildbot collects cleaned text too). */
  stdout: string;
  stderr: string;
}

const INTERRUPT_SIGNALS: readonly InterruptSignal[] = ['KILL', 'TERM', 'INT', 'HUP', 'QUIT'];

/** Buildbot's interruptSignal names (with or without `SIG`) → ours; unknown ones are an error. */
export function interruptSignalOf(name: string | undefined): InterruptSignal | undefined {
  if (name === undefined) return undefined;
  const n = name.toUpperCase().replace(/^SIG/, '');
  if ((INTERRUPT_SIGNALS as readonly string[]).includes(n)) return n as InterruptSignal;
  throw new TypeError(`interruptSignal '${name}' is not one of ${INTERRUPT_SIGNALS.join(', ')}`);
}

function signalNumber(name: string): number | string {
  return (osConstants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`] ?? name;
}

function secs(n: number): string {
  return `${n} ${n === 1 ? 'sec' : 'secs'}`;
}

/** The argv the slave really runs, for the ` argv:` header. */
export function effectiveArgv(ctx: Pick<StepContext, 'platform'>, command: string | string[]): string[] {
  if (Array.isArray(command)) return command;
  switch (ctx.platform.shell) {
    case 'sh':
      return ['/bin/sh', '-c', command];
    case 'cmd':
      return ['cmd.exe', '/c', command];
    case 'powershell':
      return ['powershell.exe', '-Command', command];
  }
}

/** The environment as the command sees it: the slave's own, then ours (lists joined, `${X}` resolved). */
export function displayEnv(ctx: Pick<StepContext, 'platform' | 'remoteEnv'>, env: CommandEnv | undefined): Record<string, string> {
  const out: Record<string, string> = { ...(ctx.remoteEnv ?? {}) };
  const base = ctx.remoteEnv ?? {};
  for (const [name, parts] of normalizeEnv(env, ctx.platform.pathListSeparator)) {
    if (parts === null) {
      delete out[name];
      continue;
    }
    out[name] = parts.map((p) => ('ref' in p ? (base[p.ref] ?? '') : p.literal)).join('');
  }
  return out;
}

function headerLines(ctx: StepContext, o: ShellRunOptions, workdir: string): string {
  const lines = [ctx.platform.display(o.command)];
  let dir = ` in dir ${workdir}`;
  const timeout = o.timeoutS === undefined ? 1200 : o.timeoutS;
  if (timeout) dir += ` (timeout ${secs(timeout)})`;
  if (o.maxTimeS) dir += ` (maxTime ${secs(o.maxTimeS)})`;
  lines.push(dir, ' watching logfiles {}', ` argv: ${pyRepr(effectiveArgv(ctx, o.command))}`);
  if (o.logEnviron ?? true) {
    const env = displayEnv(ctx, o.env);
    lines.push(' environment:');
    for (const name of Object.keys(env).sort()) lines.push(`  ${name}=${env[name]}`);
  }
  if (o.initialStdin) lines.push(` writing ${Buffer.byteLength(o.initialStdin)} bytes to stdin`);
  lines.push(' using PTY: False');
  return lines.join('\n');
}

/** The closing headers for how the command ended. */
function footerLines(r: RunResult): string[] {
  const lines: string[] = [];
  switch (r.ended) {
    case 'exit':
      if (r.signal) lines.push(`process killed by signal ${signalNumber(r.signal)}`);
      lines.push(`program finished with exit code ${r.rc}`);
      break;
    case 'timeout':
    case 'maxTime':
    case 'interrupted':
      lines.push('', r.message);
      if (r.signal) lines.push(`process killed by signal ${signalNumber(r.signal)}`);
      lines.push(`program finished with exit code ${r.rc}`);
      break;
    case 'connectionLost':
      lines.push('', r.message);
      return lines;
  }
  lines.push(`elapsedTime=${r.elapsedS.toFixed(6)}`);
  return lines;
}

/** Run one command on the step's worker, logging it. Never throws for the command's own failures. */
export async function runShell(ctx: StepContext, o: ShellRunOptions): Promise<ShellResult> {
  const workdir = o.workdir ?? ctx.workdir;
  const log = o.log;
  let stdout = '';
  let stderr = '';
  log?.addHeader(headerLines(ctx, o, workdir));
  const wantOut = o.wantStdout ?? true;
  const wantErr = o.wantStderr ?? true;
  const runOpts: RunOptions = {
    command: o.command,
    workdir,
    env: o.env,
    createWorkdir: o.createWorkdir,
    timeoutS: o.timeoutS,
    maxTimeS: o.maxTimeS,
    signal: ctx.signal,
    stdin: o.initialStdin,
    interruptSignal: o.interruptSignal,
    sigtermTimeS: o.sigtermTimeS,
    onStdout: (t) => {
      if (o.collectStdout) stdout += t;
      o.onStdout?.(t);
      if (wantOut) log?.addStdout(t);
    },
    onStderr: (t) => {
      if (o.collectStderr) stderr += t;
      o.onStderr?.(t);
      if (wantErr) log?.addStderr(t);
    },
    // Slows the slave down while the DB lags behind (RunOptions.backpressure).
    backpressure: log ? () => log.drained() : undefined,
  };
  const r = await ctx.conn.run(runOpts);
  if (log) {
    log.endOutput();
    log.addHeader(footerLines(r).join('\n'));
  }
  return { ...r, stdout: o.collectStdout ? ctx.mask(stdout) : '', stderr: o.collectStderr ? ctx.mask(stderr) : '' };
}

/** A command's result code: CANCELLED when stopped, RETRY when the connection went, else by decodeRC. */
export function shellResults(r: RunResult, decodeRC: Record<number, number> = { 0: 0 }): ResultCode {
  if (r.ended === 'interrupted') return CANCELLED;
  if (r.ended === 'connectionLost') return RETRY;
  const v = decodeRC[r.rc];
  return (v === undefined ? FAILURE : v) as ResultCode;
}

/** For command sequences (Git, helpers): a stop or a lost connection ends the whole step. */
export function throwIfAborted(r: RunResult): void {
  if (r.ended === 'interrupted') throw StepAbort.cancelled(r.message);
  if (r.ended === 'connectionLost') throw StepAbort.connectionLost(r.message);
}
