/**
 * The exec and SFTP behaviour every host must show, declared as mocha tests so the real sshd and
 * the embedded demo host run the very same ones.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshError } from '../../lib/errors/SshError.js';
import type { SshConnection } from '../../lib/workers/sshConnection.js';

export interface BasicTarget {
  conn(): SshConnection;
  /** A directory on the host the connection's user may write to. */
  remoteDir(): string;
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

export function basicExecSftpTests(target: BasicTarget): void {
  let local: string;
  beforeEach(async () => {
    local = await mkdtemp(join(tmpdir(), 'bm-sftp-local-'));
  });
  afterEach(async () => {
    await rm(local, { recursive: true, force: true });
  });

  it('exec: stdout, stderr and exit code', async () => {
    const r = await target.conn().runCapture({ command: 'echo hi; echo err >&2; exit 3' });
    expect(r).to.include({ stdout: 'hi\n', stderr: 'err\n', rc: 3, ended: 'exit' });
  });

  it('exec: workdir and env', async () => {
    const workdir = join(target.remoteDir(), "w d'ir");
    const r = await target.conn().runCapture({ command: 'pwd; echo "$X"', workdir, env: { X: "a 'b' $c" } });
    expect(r.stdout).to.equal(`${workdir}\na 'b' $c\n`);
  });

  it('exec: a timeout kills the command and its children', async () => {
    const tag = 300 + Math.floor(Math.random() * 1000);
    const conn = target.conn();
    const r = await conn.run({ command: `sleep ${tag} & sleep ${tag}.5; echo never`, timeoutS: 1 });
    expect(r.ended).to.equal('timeout');
    // pgrep -f sees its own sh -c; exclude it by pid.
    const probe = `for p in $(pgrep -f "sleep ${tag}"); do [ "$p" != "$$" ] && echo "$p"; done; true`;
    let left = '';
    for (let i = 0; i < 50; i++) {
      left = (await conn.runCapture({ command: probe })).stdout.trim();
      if (left === '') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(left).to.equal('');
  });

  it('sftp: a 5 MiB file goes up and comes back with the same sha256', async () => {
    const src = join(local, 'big.bin');
    await writeFile(src, randomBytes(5 * 1024 * 1024));
    const remote = join(target.remoteDir(), 'up', 'deeper', 'big.bin');
    const sftp = await target.conn().sftp();
    try {
      await sftp.uploadFile(src, remote, { mode: 0o640 });
      expect((await sftp.stat(remote))!.size).to.equal(5 * 1024 * 1024);
      expect((await sftp.stat(remote))!.mode & 0o777).to.equal(0o640);
      const back = join(local, 'back', 'big.bin');
      await sftp.downloadFile(remote, back);
      expect(await sha256(back)).to.equal(await sha256(src));
    } finally {
      await sftp.close();
    }
  });

  it('sftp: a directory tree round trip keeps contents and modes', async () => {
    const tree = join(local, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'top.txt'), 'top\n');
    await writeFile(join(tree, 'a', 'b', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await writeFile(join(tree, 'a', 'empty'), '');
    const remote = join(target.remoteDir(), 'tree copy');
    const sftp = await target.conn().sftp();
    try {
      expect(await sftp.uploadDirectory(tree, remote)).to.deep.equal({ files: 3, bytes: 4 + 18 });
      const r = await target.conn().runCapture({ command: './a/b/run.sh', workdir: remote });
      expect(r.stdout).to.equal('hi\n');
      const back = join(local, 'back');
      expect((await sftp.downloadDirectory(remote, back)).files).to.equal(3);
      expect(await readFile(join(back, 'a', 'b', 'run.sh'), 'utf8')).to.equal('#!/bin/sh\necho hi\n');
      expect((await stat(join(back, 'a', 'b', 'run.sh'))).mode & 0o777).to.equal(0o755);
      expect(await readFile(join(back, 'a', 'empty'), 'utf8')).to.equal('');
    } finally {
      await sftp.close();
    }
  });

  it('sftp: a missing remote file is a clear SshError', async () => {
    const sftp = await target.conn().sftp();
    try {
      const missing = join(target.remoteDir(), 'no-such-file');
      const err = (await sftp.downloadFile(missing, join(local, 'x')).catch((e: unknown) => e)) as SshError;
      expect(err).to.be.instanceOf(SshError);
      expect(err.code).to.equal('sftp');
      expect(err.message).to.contain(missing).and.to.contain('no such file');
      expect(await sftp.exists(missing)).to.equal(false);
    } finally {
      await sftp.close();
    }
  });
}
