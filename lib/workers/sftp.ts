import { chmod, mkdir, readdir, stat as localStat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { posix } from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';
import { SshError } from '../errors/SshError.js';
import type { Platform } from './platforms/platform.js';

const STATUS_NAMES: Record<number, string> = {
  1: 'end of file',
  2: 'no such file',
  3: 'permission denied',
  4: 'failure',
  5: 'bad message',
  8: 'operation unsupported',
};

/**
 * File transfer over one SFTP session (for FileUpload, FileDownload, DirectoryUpload). Remote
 * paths are the slave's; on Windows `C:\x` is sent as `/C:/x`, as Win32-OpenSSH's sftp expects.
 * Errors are SshError('sftp') naming the worker, the operation, both paths and the reason.
 */
export class SftpSession {
  private closed = false;
  private readonly worker: string;
  private readonly platform: Platform;
  private readonly release: () => void;

  constructor(
    private readonly sftp: SFTPWrapper,
    info: { worker: string; platform: Platform; release: () => void },
  ) {
    this.worker = info.worker;
    this.platform = info.platform;
    this.release = info.release;
    sftp.once('close', () => {
      this.closed = true;
      this.release();
    });
  }

  /** The path as the SFTP server wants it. */
  remotePath(path: string): string {
    if (this.platform.name !== 'windows') return path;
    const p = path.replace(/\\/g, '/');
    return /^[A-Za-z]:/.test(p) ? '/' + p : p;
  }

  private fail(op: string, err: unknown): SshError {
    const e = err as Error & { code?: number | string };
    const why = typeof e.code === 'number' ? `${e.message} (${STATUS_NAMES[e.code] ?? 'status'} ${e.code})` : e.message;
    return new SshError(`worker ${this.worker}: sftp ${op} failed: ${why}`, { code: 'sftp', worker: this.worker, cause: err });
  }

  private call<T>(op: string, fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(this.fail(op, new Error('the SFTP session is closed')));
    return new Promise((resolve, reject) => {
      fn((err, v) => (err ? reject(this.fail(op, err)) : resolve(v as T)));
    });
  }

  /** Stat, or undefined when the path does not exist. */
  async stat(path: string): Promise<Stats | undefined> {
    try {
      return await this.call<Stats>(`stat ${path}`, (cb) => this.sftp.stat(this.remotePath(path), cb));
    } catch (err) {
      if (((err as SshError).cause as { code?: number })?.code === 2) return undefined;
      throw err;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  /** Create a remote directory and its parents (slave-style path, `/` or `\`). */
  async mkdirp(path: string, mode = 0o755): Promise<void> {
    const p = this.remotePath(path);
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (prefix === '' || /^\/[A-Za-z]:$/.test(prefix)) continue;
      const st = await this.stat(prefix);
      if (st?.isDirectory()) continue;
      if (st) throw this.fail(`mkdir ${path}`, new Error(`${prefix} exists and is not a directory`));
      try {
        await this.call(`mkdir ${prefix}`, (cb) => this.sftp.mkdir(prefix, { mode }, (err) => cb(err)));
      } catch (err) {
        if (!(await this.stat(prefix))?.isDirectory()) throw err; // lost a race with another mkdir: fine
      }
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.call(`chmod ${path}`, (cb) => this.sftp.chmod(this.remotePath(path), mode, (err) => cb(err)));
  }

  /** Upload one file; `mode` is applied even when the file existed; parent dirs are created. */
  async uploadFile(localPath: string, remotePath: string, opts: { mode?: number; mkdirs?: boolean } = {}): Promise<void> {
    const op = `upload ${localPath} -> ${remotePath}`;
    try {
      await localStat(localPath);
    } catch (err) {
      throw this.fail(op, err);
    }
    if (opts.mkdirs !== false) await this.mkdirp(this.parentOf(remotePath));
    await this.call(op, (cb) =>
      this.sftp.fastPut(localPath, this.remotePath(remotePath), opts.mode !== undefined ? { mode: opts.mode } : {}, (err) => cb(err)),
    );
    if (opts.mode !== undefined) await this.chmod(remotePath, opts.mode);
  }

  /** Download one file; local parent dirs are created. */
  async downloadFile(remotePath: string, localPath: string, opts: { mode?: number; mkdirs?: boolean } = {}): Promise<void> {
    const op = `download ${remotePath} -> ${localPath}`;
    if (opts.mkdirs !== false) await mkdir(dirname(localPath), { recursive: true });
    await this.call(op, (cb) => this.sftp.fastGet(this.remotePath(remotePath), localPath, (err) => cb(err)));
    if (opts.mode !== undefined) await chmod(localPath, opts.mode);
  }

  /** Upload a directory tree, keeping file modes. Symlinks and special files are skipped. */
  async uploadDirectory(localDir: string, remoteDir: string): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    await this.mkdirp(remoteDir);
    const walk = async (local: string, remote: string): Promise<void> => {
      for (const entry of await readdir(local, { withFileTypes: true })) {
        const l = join(local, entry.name);
        const r = this.platform.joinPath(remote, entry.name);
        if (entry.isDirectory()) {
          await this.mkdirp(r);
          await walk(l, r);
        } else if (entry.isFile()) {
          const st = await localStat(l);
          await this.uploadFile(l, r, { mode: st.mode & 0o777, mkdirs: false });
          files++;
          bytes += st.size;
        }
      }
    };
    await walk(localDir, remoteDir);
    return { files, bytes };
  }

  /** Download a directory tree, keeping file modes. */
  async downloadDirectory(remoteDir: string, localDir: string): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    const walk = async (remote: string, local: string): Promise<void> => {
      await mkdir(local, { recursive: true });
      const list = await this.call<{ filename: string; attrs: Stats }[]>(`readdir ${remote}`, (cb) =>
        this.sftp.readdir(this.remotePath(remote), cb),
      );
      for (const { filename, attrs } of list) {
        if (filename === '.' || filename === '..') continue;
        const r = this.platform.joinPath(remote, filename);
        const l = join(local, filename);
        if (attrs.isDirectory()) await walk(r, l);
        else if (attrs.isFile()) {
          await this.downloadFile(r, l, { mode: attrs.mode & 0o777, mkdirs: false });
          files++;
          bytes += attrs.size;
        }
      }
    };
    await walk(remoteDir, localDir);
    return { files, bytes };
  }

  /** Remove one remote file. */
  async unlink(path: string): Promise<void> {
    await this.call(`remove ${path}`, (cb) => this.sftp.unlink(this.remotePath(path), (err) => cb(err)));
  }

  private parentOf(path: string): string {
    return this.platform.name === 'windows' ? path.replace(/[\\/][^\\/]*$/, '') || path : posix.dirname(path);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.sftp.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.sftp.end();
    });
    this.release();
  }
}
