import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import type { Logger } from '../util/log.js';
import { exitStatusOf } from './exitStatus.js';
import type { Platform, RemoteProcessRef } from './platforms/platform.js';
import type { CommandEnv, InterruptSignal, RunResult } from './types.js';

export interface RunOptions {
  /** A shell string (run by /bin/sh, cmd.exe or PowerShell) or argv (run without a shell on posix). */
  command: string | string[];
  /** Absolute on the slave; created first unless `createWorkdir: false` (Buildbot does the same). */
  workdir?: string;
  env?: CommandEnv;
  createWorkdir?: boolean;
  /** Kill after this many seconds without output. Buildbot's default 1200; null or 0: never. */
  timeoutS?: number | null;
  /** Kill after this many seconds in all. */
  maxTimeS?: number | null;
  /** Stop the command (the build was stopped): kills the remote tree, ends 'interrupted'. */
  signal?: AbortSignal;
  /** Output as it arrives, decoded as UTF-8 (bad bytes replaced), never split inside a character. */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  /** Written to the command's stdin, which is then closed (it is closed at once otherwise). */
  stdin?: string | Buffer;
  /** Signal for timeouts and stops, Buildbot's `interruptSignal` (default KILL). */
  interruptSignal?: InterruptSignal;
  /** Send TERM first and `interruptSignal` this many seconds later (Buildbot's `sigtermTime`). */
  sigtermTimeS?: number;
  /**
   * Flow control: asked after each output chunk; a returned promise pauses the channel until it
   * resolves, so a command printing faster than its log is stored waits (SSH window) instead of
   * filling the master's memory. Time spent paused does not count towards the no-output timeout.
   */
  backpressure?: () => Promise<void> | undefined;
}

/** What a command needs from its connection (SshConnection implements it). */
export interface CommandHost {
  readonly workerName: string;
  readonly platform: Platform;
  readonly logger: Logger;
  isConnected(): boolean;
  /** Why the connection is down; undefined while it is up. */
  lostReason(): string | undefined;
  /** Open an exec channel, waiting for a session slot. Rejects when not connected. */
  openExec(line: string, opts: { signal?: AbortSignal; control?: boolean }): Promise<{ channel: ClientChannel; release: () => void }>;
  /** Run a kill line on a fresh control channel; resolves when it finished (never rejects). */
  runControl(line: string): Promise<void>;
  /** A command whose connection was lost may still be running: kill it after reconnecting. */
  noteOrphan(ref: RemoteProcessRef): void;
}

const DEFAULT_TIMEOUT_S = 1200;
/** Buildbot's BACKUP_TIMEOUT: after a kill, how long we wait for the channel to close. */
const BACKUP_TIMEOUT_MS = 5000;
/** How long a kill waits for the posix pid marker if it has not arrived yet. */
const PID_WAIT_MS = 10_000;

function signalNumber(name: string): number | undefined {
  return (osConstants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`];
}

function secs(n: number): string {
  return `${n} ${n === 1 ? 'sec' : 'secs'}`;
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (typeof r === 'string') return r;
  if (r instanceof Error && r.name !== 'AbortError') return r.message;
  return 'stopped';
}

/**
 * Drops the pid marker line the posix wrapper prints on stderr before the command starts. Anything
 * a login shell prints before it passes through; output is held only until the marker is seen.
 */
class PidMarkerFilter {
  private pending: Buffer | undefined = Buffer.alloc(0);
  pid: number | undefined;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly marker: Buffer) {}

  get done(): boolean {
    return this.pending === undefined;
  }

  feed(chunk: Buffer): Buffer {
    if (this.pending === undefined) return chunk;
    const buf = Buffer.concat([this.pending, chunk]);
    const at = buf.indexOf(this.marker);
    if (at < 0) {
      // Keep a tail that could be the start of the marker; pass the rest.
      const keep = Math.min(buf.length, this.marker.length + 24);
      this.pending = buf.subarray(buf.length - keep);
      return buf.subarray(0, buf.length - keep);
    }
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) {
      this.pending = buf;
      return Buffer.alloc(0);
    }
    this.pid = Number(buf.subarray(at + this.marker.length, nl).toString('latin1'));
    this.pending = undefined;
    for (const w of this.waiters.splice(0)) w();
    return Buffer.concat([buf.subarray(0, at), buf.subarray(nl + 1)]);
  }

  /** The command ended without a marker: give back what was held. */
  flush(): Buffer {
    const rest = this.pending ?? Buffer.alloc(0);
    this.pending = undefined;
    for (const w of this.waiters.splice(0)) w();
    return rest;
  }

  waitPid(ms: number): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

type Ending = { ended: 'timeout' | 'maxTime' | 'interrupted'; message: string };

/**
 * Run one command on the host: an exec channel in the workdir with env, output streamed, ended by
 * its exit, a timeout, maxTime, a stop, or the connection's loss. Every kill takes the whole
 * remote process tree (see the platform files). Only bad arguments throw; the rest is a RunResult.
 */
export async function runRemoteCommand(host: CommandHost, opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const elapsedS = () => Number(((performance.now() - started) / 1000).toFixed(6));
  const { platform } = host;
  const display = platform.display(opts.command);
  const nonce = randomBytes(8).toString('hex');
  const wrapped = platform.wrap({
    command: opts.command,
    workdir: opts.workdir,
    env: opts.env,
    createWorkdir: opts.createWorkdir,
    nonce,
  });
  const lost = (why: string): RunResult => ({
    rc: -1,
    ended: 'connectionLost',
    message: `lost connection to worker ${host.workerName} (${why}) running ${display}`,
    elapsedS: elapsedS(),
  });
  const interrupted = (signal: AbortSignal): RunResult => ({
    rc: -1,
    ended: 'interrupted',
    message: `command interrupted (${abortReason(signal)}) before it started: ${display}`,
    elapsedS: elapsedS(),
  });

  if (opts.signal?.aborted) return interrupted(opts.signal);
  if (!host.isConnected()) return lost(host.lostReason() ?? 'not connected');

  let opened: { channel: ClientChannel; release: () => void };
  try {
    opened = await host.openExec(wrapped.line, { signal: opts.signal });
  } catch (err) {
    if (opts.signal?.aborted) return interrupted(opts.signal);
    return lost(host.lostReason() ?? (err as Error).message);
  }
  const { channel, release } = opened;
  // A pino child per command costs more than its debug lines are worth at info: made on first use.
  let child: Logger | undefined;
  const log = (): Logger => (child ??= host.logger.child({ nonce }));
  if (host.logger.isLevelEnabled('debug')) log().debug({ event: 'command.started', command: display, workdir: opts.workdir }, 'command started');

  return new Promise<RunResult>((resolve) => {
    const ref = wrapped.ref;
    const filter = wrapped.pidMarker ? new PidMarkerFilter(Buffer.from(wrapped.pidMarker, 'latin1')) : undefined;
    const outDecoder = new StringDecoder('utf8');
    const errDecoder = new StringDecoder('utf8');
    let exit: { code: number | null; signal?: string } | undefined;
    let ending: Ending | undefined;
    let finished = false;
    let closed = false;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
      return t;
    };

    const timeoutS = opts.timeoutS === undefined ? DEFAULT_TIMEOUT_S : opts.timeoutS;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      if (!timeoutS || ending) return;
      if (idleTimer) {
        idleTimer.refresh();
        return;
      }
      idleTimer = later(timeoutS * 1000, () =>
        kill({ ended: 'timeout', message: `command timed out: ${timeoutS} seconds without output running ${display}, attempting to kill` }),
      );
    };
    armIdle();
    if (opts.maxTimeS) {
      const maxTimeS = opts.maxTimeS;
      later(maxTimeS * 1000, () =>
        kill({ ended: 'maxTime', message: `command timed out: ${maxTimeS} seconds elapsed running ${display}, attempting to kill` }),
      );
    }
    const onAbort = () => kill({ ended: 'interrupted', message: `command interrupted (${abortReason(opts.signal!)}), attempting to kill` });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // A stop that arrived while the command was being started has already fired its event.
    if (opts.signal?.aborted) onAbort();

    const emitOut = (buf: Buffer) => {
      if (buf.length === 0) return;
      const text = outDecoder.write(buf);
      if (text) opts.onStdout?.(text);
    };
    const emitErr = (buf: Buffer) => {
      if (buf.length === 0) return;
      const text = errDecoder.write(buf);
      if (text) opts.onStderr?.(text);
    };
    // While paused for backpressure the command is waiting on us, not silent: hold the idle timer.
    let paused = false;
    const throttle = () => {
      if (paused || !opts.backpressure) return;
      const wait = opts.backpressure();
      if (!wait) return;
      paused = true;
      channel.pause();
      channel.stderr.pause();
      if (idleTimer) {
        clearTimeout(idleTimer);
        timers.delete(idleTimer);
        idleTimer = undefined;
      }
      const resume = () => {
        paused = false;
        if (finished) return;
        channel.resume();
        channel.stderr.resume();
        armIdle();
      };
      wait.then(resume, resume);
    };
    channel.on('data', (d: Buffer) => {
      armIdle();
      emitOut(d);
      throttle();
    });
    channel.stderr.on('data', (d: Buffer) => {
      if (filter && !filter.done) {
        const pass = filter.feed(d);
        if (filter.done) ref.pid = filter.pid;
        if (pass.length === 0) return;
        d = pass;
      }
      armIdle();
      emitErr(d);
      throttle();
    });
    // The exit may already have happened while we awaited the channel: exitStatusOf has it then.
    exit = exitStatusOf(channel);
    channel.on('exit', (code: number | null, signal?: string) => {
      exit = { code, signal: signal ?? undefined };
    });
    channel.on('error', (err: Error) => log().debug({ event: 'command.channelError', err: err.message }, 'channel error'));
    channel.on('close', () => {
      closed = true;
      finish();
    });

    if (opts.stdin !== undefined) channel.end(opts.stdin);
    else channel.end();

    async function kill(why: Ending): Promise<void> {
      if (ending || closed) return;
      ending = why;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      log().info({ event: 'command.kill', reason: why.ended, command: display }, why.message);
      if (filter && !filter.done) await filter.waitPid(PID_WAIT_MS);
      const final = opts.interruptSignal ?? 'KILL';
      const first = opts.sigtermTimeS !== undefined ? 'TERM' : final;
      const line = platform.killLine(ref, first);
      if (line && !closed) await host.runControl(line);
      if (first !== final && !closed) {
        later(opts.sigtermTimeS! * 1000, () => {
          const second = platform.killLine(ref, final);
          if (second && !closed) void host.runControl(second);
          later(BACKUP_TIMEOUT_MS, abandon);
        });
      } else {
        later(BACKUP_TIMEOUT_MS, abandon);
      }
    }

    /** The tree did not die (or we could not reach it): stop waiting, as Buildbot's worker does. */
    function abandon(): void {
      if (closed) return;
      log().warn({ event: 'command.abandoned', command: display }, 'killed command did not end; abandoning its channel');
      channel.close();
      finish();
    }

    function finish(): void {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      opts.signal?.removeEventListener('abort', onAbort);
      if (filter) emitErr(filter.flush());
      const outTail = outDecoder.end();
      if (outTail) opts.onStdout?.(outTail);
      const errTail = errDecoder.end();
      if (errTail) opts.onStderr?.(errTail);
      release();

      let result: RunResult;
      const why = host.lostReason();
      if (!exit && why !== undefined) {
        // The process may live on: kill it once we are back.
        if (ref.pid !== undefined || ref.matchToken !== undefined) host.noteOrphan(ref);
        result = lost(why);
      } else if (exit && exit.code !== null && !ending) {
        result = { rc: exit.code, ended: 'exit', message: `program finished with exit code ${exit.code}`, elapsedS: elapsedS() };
      } else if (exit?.signal && !ending) {
        const n = signalNumber(exit.signal);
        result = { rc: -1, signal: exit.signal, ended: 'exit', message: `process killed by signal ${n ?? exit.signal}`, elapsedS: elapsedS() };
      } else if (ending) {
        result = { rc: exit?.code ?? -1, signal: exit?.signal, ended: ending.ended, message: ending.message, elapsedS: elapsedS() };
        if (!exit) result.message += `; SIG${opts.interruptSignal ?? 'KILL'} failed to kill process, using fake rc=-1`;
        if (exit?.signal) result.rc = -1;
      } else {
        result = { rc: -1, ended: 'exit', message: 'command ended without an exit status', elapsedS: elapsedS() };
      }
      if (host.logger.isLevelEnabled('debug')) log().debug({ event: 'command.finished', ended: result.ended, rc: result.rc, elapsedS: result.elapsedS }, result.message);
      resolve(result);
    }
  });
}
