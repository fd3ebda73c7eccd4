import { spawn } from 'node:child_process';
import { VcsError } from './vcsError.js';

export interface VcsCommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; default 5 minutes. */
  timeoutMs?: number;
  /** Aborting kills the command (the poller is stopping). */
  signal?: AbortSignal;
  /** Output encoding of the repository (default utf-8). */
  encoding?: string;
  /** Exit codes that are not failures (default [0]). */
  okCodes?: readonly number[];
}

export interface VcsResult {
  code: number;
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** stderr kept for messages; a failing fetch can print a lot of progress. */
const MAX_STDERR = 4000;

/**
 * Runs `bin args…` without a shell and collects its output. Throws VcsError when it cannot start,
 * exits with a code outside `okCodes`, times out or is aborted; the message carries the reason
 * (stderr's end) because that is what the operator reads in the log.
 */
export function runVcs(bin: string, args: readonly string[], opts: VcsCommandOptions = {}): Promise<VcsResult> {
  const shown = `${bin} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new VcsError(`${shown}: aborted`, null, ''));
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let why: string | undefined;
    const kill = (reason: string) => {
      why ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`timed out after ${Math.round((opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const onAbort = () => kill('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const done = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      done();
      reject(new VcsError(`${shown}: cannot run ${bin}: ${e.message}`, null, ''));
    });
    child.on('close', (code) => {
      done();
      const decoder = new TextDecoder(opts.encoding ?? 'utf-8');
      const stdout = decoder.decode(Buffer.concat(out));
      const stderr = new TextDecoder('utf-8').decode(Buffer.concat(err));
      if (why) return reject(new VcsError(`${shown}: ${why}`, code, stderr));
      if (code === null || !(opts.okCodes ?? [0]).includes(code)) {
        const tail = stderr.trim().slice(-MAX_STDERR) || stdout.trim().slice(-MAX_STDERR);
        return reject(new VcsError(`${shown} failed with exit code ${code ?? 'signal'}${tail ? `: ${tail}` : ''}`, code, stderr));
      }
      resolve({ code, stdout, stderr });
    });
  });
}
