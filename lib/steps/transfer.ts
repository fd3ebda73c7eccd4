/**
 * Shared by the transfer steps (FileUpload, FileDownload, DirectoryUpload): paths on both sides,
 * one SFTP session per step closed when the build stops it, and the mapping of failures to
 * results (a stop → CANCELLED, a lost connection → RETRY, anything else from SFTP → FAILURE).
 */
import { homedir } from 'node:os';
import { basename, isAbsolute, resolve } from 'node:path';
import type { LogWriter } from '../logs/logWriter.js';
import { CANCELLED, FAILURE, RETRY, SUCCESS } from '../process/results.js';
import type { SftpSession } from '../workers/sftp.js';
import type { StepContext, StepOutcome } from './types.js';

/** A master-side path: `~` expanded, relative to the master directory (Buildbot's basedir). */
export function masterPath(ctx: StepContext, path: string): string {
  const p = path === '~' ? homedir() : path.startsWith('~/') ? homedir() + path.slice(1) : path;
  return isAbsolute(p) ? p : resolve(ctx.masterBasedir, p);
}

/** A slave-side path, relative to the step's workdir. */
export function workerPath(ctx: StepContext, path: string): string {
  return ctx.platform.isAbsolute(path) ? path : ctx.platform.joinPath(ctx.workdir, path);
}

/** The last component of a slave or master path. */
export function lastComponent(path: string): string {
  return basename(path.replace(/\\/g, '/'));
}

export function sizeText(bytes: number): string {
  return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
}

/**
 * Run `fn` with an SFTP session, logging into `log`; returns the step outcome. `fn` returns the
 * text of its final header line (what it did) or throws.
 */
export async function withTransfer(
  ctx: StepContext,
  log: LogWriter,
  fn: (sftp: SftpSession) => Promise<string | StepOutcome>,
): Promise<StepOutcome> {
  let sftp: SftpSession | undefined;
  const onAbort = () => void sftp?.close();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    sftp = await ctx.conn.sftp({ signal: ctx.signal });
    const done = await fn(sftp);
    if (typeof done !== 'string') return done;
    log.addHeader(done);
    return { results: SUCCESS };
  } catch (err) {
    const why = (err as Error).message;
    if (ctx.signal.aborted) {
      log.addHeader(`transfer interrupted: ${String(ctx.signal.reason ?? why)}`);
      return { results: ctx.conn.isConnected() ? CANCELLED : RETRY };
    }
    if (!ctx.conn.isConnected()) {
      log.addHeader(`lost connection to worker ${ctx.workerName} during the transfer: ${why}`);
      return { results: RETRY };
    }
    log.addHeader(why);
    return { results: FAILURE };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await sftp?.close().catch(() => undefined);
  }
}
