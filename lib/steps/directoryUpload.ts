/**
 * DirectoryUpload (Buildbot's steps.DirectoryUpload): copies the directory `workersrc` (relative
 * to the step's workdir) from the slave to `masterdest` on the master (relative to the master
 * directory), file by file over SFTP, keeping modes; files already there are overwritten.
 * The tree lands in a temporary directory beside `masterdest` first and is moved in when complete.
 * `maxsize` caps the total bytes: a larger tree fails the step and nothing reaches `masterdest`.
 * `compress` is accepted for compatibility and has no effect (SSH may compress the connection).
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ResolvedDirectoryUpload } from '../config/resolved.js';
import { lastComponent, masterPath, sizeText, withTransfer, workerPath } from './transfer.js';
import type { StepDefinition } from './types.js';

export const directoryUploadStep: StepDefinition<ResolvedDirectoryUpload> = {
  kind: 'DirectoryUpload',
  async run(ctx, step) {
    const log = await ctx.addLog('stdio');
    const src = workerPath(ctx, String(step.workersrc));
    const dest = masterPath(ctx, String(step.masterdest));
    if (step.url !== undefined) await ctx.addURL(step.urlText !== undefined ? String(step.urlText) : lastComponent(dest), String(step.url));
    log.addHeader(`uploading directory ${src} from worker ${ctx.workerName} to ${dest} on the master`);
    const outcome = await withTransfer(ctx, log, async (sftp) => {
      const st = await sftp.stat(src);
      if (!st?.isDirectory()) throw new Error(`Cannot read directory '${src}' for upload: ${st ? 'not a directory' : 'no such directory'}`);
      await mkdir(dirname(dest), { recursive: true });
      const tmp = join(dirname(dest), `.${lastComponent(dest)}.${randomBytes(4).toString('hex')}.part`);
      try {
        const { files, bytes } = await sftp.downloadDirectory(src, tmp);
        if (step.maxsize !== undefined && bytes > step.maxsize) {
          throw new Error(`Maximum size reached: '${src}' holds ${sizeText(bytes)}, maxsize is ${step.maxsize}`);
        }
        const exists = await stat(dest).then(() => true, () => false);
        if (exists) await cp(tmp, dest, { recursive: true, force: true, preserveTimestamps: true });
        else await rename(tmp, dest);
        return `uploaded ${files} ${files === 1 ? 'file' : 'files'}, ${sizeText(bytes)}`;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
    return { ...outcome, fallbackSummary: `uploading ${lastComponent(src)}` };
  },
};
