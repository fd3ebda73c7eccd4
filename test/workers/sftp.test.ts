import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SshError } from '../../lib/errors/SshError.js';
import type { SshConnection } from '../../lib/workers/sshConnection.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { basicExecSftpTests } from './basicSuite.js';
import { makeHarness, type Harness } from './harness.js';

describe('workers/sftp (real sshd)', function () {
  let sshd: Sshd;
  let h: Harness;
  let conn: SshConnection;
  before(async function () {
    sshd = await startSshd(this, { users: 1 });
    h = await makeHarness();
    await h.trust(sshd);
    conn = h.connection(sshd);
    await conn.connect();
  });
  after(async () => {
    await h?.cleanup();
    await sshd?.stop();
  });

  basicExecSftpTests({ conn: () => conn, remoteDir: () => sshd.users[0].home });

  it('a directory the user may not write is "permission denied"', async () => {
    const src = join(h.masterDir, 'small.txt');
    await writeFile(src, 'x');
    const sftp = await conn.sftp();
    try {
      const err = (await sftp.uploadFile(src, '/root/forbidden.txt', { mkdirs: false }).catch((e: unknown) => e)) as SshError;
      expect(err).to.be.instanceOf(SshError);
      expect(err.message).to.contain('/root/forbidden.txt').and.to.contain('permission denied');
    } finally {
      await sftp.close();
    }
  });

  it('an SFTP session holds a session slot until closed', async () => {
    const sessions = await Promise.all(Array.from({ length: 3 }, () => conn.sftp()));
    const r = await conn.runCapture({ command: 'echo still fine' });
    expect(r.stdout).to.equal('still fine\n');
    await Promise.all(sessions.map((s) => s.close()));
  });
});
