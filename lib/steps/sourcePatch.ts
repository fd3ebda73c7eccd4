/**
 * What source steps need to apply a try job's patch (Buildbot's Source.patch, steps/source/base.py):
 * the file names Buildbot uses on the worker, where the patch goes, and writing a file there.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StepAbort } from './stepAbort.js';
import type { BuildPatch, StepContext } from './types.js';

/** The patch, as written next to the sources (removed once applied). */
export const DIFF_FILE = '.buildbot-diff';
/** Left in the workdir: the next build finds it and cleans the tree before checking out. */
export const PATCHED_MARKER = '.buildbot-patched';

/**
 * The directory the patch applies in: `subdir` under the workdir, as Buildbot's `root`. A subdir
 * that would leave the workdir is ignored, as Buildbot does.
 */
export function patchDir(ctx: StepContext, workdir: string, patch: BuildPatch): string {
  const sub = patch.subdir;
  if (!sub || ctx.platform.isAbsolute(sub)) return workdir;
  if (sub.split(/[\\/]/).some((part) => part === '..')) return workdir;
  return ctx.platform.joinPath(workdir, sub);
}

/** The patch as text for the `patch` log (invalid UTF-8 replaced, as Buildbot's errors='ignore'). */
export function patchText(patch: BuildPatch): string {
  return patch.body.toString('utf8');
}

/** Writes `content` to `remotePath` on the step's worker over SFTP. */
export async function writeWorkerFile(ctx: StepContext, remotePath: string, content: string | Buffer): Promise<void> {
  const local = join(tmpdir(), `bm-patch-${randomBytes(6).toString('hex')}`);
  let sftp;
  try {
    sftp = await ctx.conn.sftp({ signal: ctx.signal });
    await writeFile(local, content, { mode: 0o600 });
    await sftp.uploadFile(local, remotePath, { mode: 0o644 });
  } catch (err) {
    if (!ctx.conn.isConnected()) throw StepAbort.connectionLost((err as Error).message);
    throw StepAbort.failed(`writing ${remotePath} failed: ${(err as Error).message}`);
  } finally {
    await rm(local, { force: true });
    await sftp?.close();
  }
}
