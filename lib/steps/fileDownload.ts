/**
 * FileDownload (Buildbot's steps.FileDownload): copies `mastersrc` (relative to the master
 * directory) to `workerdest` on the slave (relative to the step's workdir) over SFTP, creating
 * its directory. `maxsize` refuses a larger file (FAILURE); `mode` sets the slave file's mode.
 */
import { stat } from 'node:fs/promises';
import type { ResolvedFileDownload } from '../config/resolved.js';
import { lastComponent, masterPath, sizeText, withTransfer, workerPath } from './transfer.js';
import type { StepDefinition } from './types.js';

export const fileDownloadStep: StepDefinition<ResolvedFileDownload> = {
  kind: 'FileDownload',
  async run(ctx, step) {
    const log = await ctx.addLog('stdio');
    const src = masterPath(ctx, String(step.mastersrc));
    const dest = workerPath(ctx, String(step.workerdest));
    log.addHeader(`downloading ${src} from the master to ${dest} on worker ${ctx.workerName}`);
    const outcome = await withTransfer(ctx, log, async (sftp) => {
      const st = await stat(src).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`Cannot open file '${src}' for download: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      });
      if (!st.isFile()) throw new Error(`Cannot download '${src}': not a regular file`);
      if (step.maxsize !== undefined && st.size > step.maxsize) {
        throw new Error(`Maximum filesize reached: '${src}' has ${sizeText(st.size)}, maxsize is ${step.maxsize}`);
      }
      await sftp.uploadFile(src, dest, step.mode !== undefined ? { mode: step.mode } : {});
      return `downloaded ${sizeText(st.size)}`;
    });
    return { ...outcome, fallbackSummary: `downloading to ${lastComponent(dest)}` };
  },
};
