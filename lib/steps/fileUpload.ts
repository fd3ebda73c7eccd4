/**
 * FileUpload (Buildbot's steps.FileUpload): copies `workersrc` (relative to the step's workdir)
 * from the slave to `masterdest` on the master (relative to the master directory) over SFTP.
 * The file is written beside its destination and renamed into place, so readers never see half
 * a file. `maxsize` refuses a larger file (FAILURE); `mode` sets its permissions; `keepstamp`
 * keeps the slave's modification time; `url` adds a link to the step.
 */
import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ResolvedFileUpload } from '../config/resolved.js';
import { lastComponent, masterPath, sizeText, withTransfer, workerPath } from './transfer.js';
import type { StepDefinition } from './types.js';

export const fileUploadStep: StepDefinition<ResolvedFileUpload> = {
  kind: 'FileUpload',
  async run(ctx, step) {
    const log = await ctx.addLog('stdio');
    const src = workerPath(ctx, String(step.workersrc));
    const dest = masterPath(ctx, String(step.masterdest));
    if (step.url !== undefined) await ctx.addURL(step.urlText !== undefined ? String(step.urlText) : lastComponent(dest), String(step.url));
    log.addHeader(`uploading ${src} from worker ${ctx.workerName} to ${dest} on the master`);
    const outcome = await withTransfer(ctx, log, async (sftp) => {
      const st = await sftp.stat(src);
      if (!st) throw new Error(`Cannot open file '${src}' for upload: no such file`);
      if (!st.isFile()) throw new Error(`Cannot upload '${src}': not a regular file`);
      if (step.maxsize !== undefined && st.size > step.maxsize) {
        throw new Error(`Maximum filesize reached: '${src}' has ${sizeText(st.size)}, maxsize is ${step.maxsize}`);
      }
      const tmp = join(dirname(dest), `.${lastComponent(dest)}.${randomBytes(4).toString('hex')}.part`);
      try {
        await sftp.downloadFile(src, tmp);
        if (step.mode !== undefined) await chmod(tmp, step.mode);
        if (step.keepstamp) await utimes(tmp, st.atime, st.mtime);
        await rename(tmp, dest);
      } finally {
        await rm(tmp, { force: true });
      }
      return `uploaded ${sizeText((await stat(dest)).size)}`;
    });
    return { ...outcome, fallbackSummary: `uploading ${lastComponent(src)}` };
  },
};
