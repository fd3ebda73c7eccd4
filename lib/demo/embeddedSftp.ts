import { constants as fsc } from 'node:fs';
import type { Dir } from 'node:fs';
import { open, opendir, type FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { createRequire } from 'node:module';
import type { Attributes, SFTPWrapper } from 'ssh2';

// ssh2 is CommonJS; Node's ESM loader does not see `utils` as a named export (see embeddedSshHost.ts).
const { utils } = createRequire(import.meta.url)('ssh2') as typeof import('ssh2');
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

/**
 * The SFTP subsystem of the embedded demo host, on the local file system: enough for what
 * lib/workers/sftp.ts does (fastPut/fastGet, stat, mkdir, readdir, chmod, remove, rename).
 * Paths are taken as the local paths they are; relative ones start in `home`.
 */
export function serveSftp(sftp: SFTPWrapper, home: string): void {
  const files = new Map<number, FileHandle>();
  const dirs = new Map<number, { dir: Dir; path: string; done: boolean }>();
  let nextHandle = 1;

  const newHandle = (): [number, Buffer] => {
    const id = nextHandle++;
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    return [id, buf];
  };
  const idOf = (h: Buffer) => (h.length === 4 ? h.readUInt32BE(0) : -1);
  const local = (p: string) => resolvePath(home, p);
  const attrsOf = (st: import('node:fs').Stats): Attributes => ({
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  });
  const fail = (reqId: number, err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    const status =
      code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' || code === 'EPERM' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE;
    sftp.status(reqId, status, (err as Error).message);
  };
  /** Run one request; any error becomes a status reply (a thrown error must not kill the server). */
  const handle = (reqId: number, fn: () => Promise<void>) => {
    fn().catch((err) => fail(reqId, err));
  };
  const applyAttrs = async (path: string | FileHandle, attrs: Attributes) => {
    if (attrs.mode !== undefined) await (typeof path === 'string' ? fs.chmod(path, attrs.mode & 0o7777) : path.chmod(attrs.mode & 0o7777));
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      await (typeof path === 'string' ? fs.utimes(path, attrs.atime, attrs.mtime) : path.utimes(attrs.atime, attrs.mtime));
    }
  };

  sftp.on('OPEN', (reqId, filename, flags, attrs) =>
    handle(reqId, async () => {
      let mode = 0;
      if (flags & OPEN_MODE.READ && flags & OPEN_MODE.WRITE) mode |= fsc.O_RDWR;
      else if (flags & OPEN_MODE.WRITE) mode |= fsc.O_WRONLY;
      else mode |= fsc.O_RDONLY;
      if (flags & OPEN_MODE.APPEND) mode |= fsc.O_APPEND;
      if (flags & OPEN_MODE.CREAT) mode |= fsc.O_CREAT;
      if (flags & OPEN_MODE.TRUNC) mode |= fsc.O_TRUNC;
      if (flags & OPEN_MODE.EXCL) mode |= fsc.O_EXCL;
      const fh = await open(local(filename), mode, attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o644);
      const [id, buf] = newHandle();
      files.set(id, fh);
      sftp.handle(reqId, buf);
    }),
  );
  sftp.on('READ', (reqId, h, offset, len) =>
    handle(reqId, async () => {
      const fh = files.get(idOf(h));
      if (!fh) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, offset);
      if (bytesRead === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.data(reqId, buf.subarray(0, bytesRead));
    }),
  );
  sftp.on('WRITE', (reqId, h, offset, data) =>
    handle(reqId, async () => {
      const fh = files.get(idOf(h));
      if (!fh) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      await fh.write(data, 0, data.length, offset);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('FSTAT', (reqId, h) =>
    handle(reqId, async () => {
      const fh = files.get(idOf(h));
      if (!fh) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      sftp.attrs(reqId, attrsOf(await fh.stat()));
    }),
  );
  sftp.on('FSETSTAT', (reqId, h, attrs) =>
    handle(reqId, async () => {
      const fh = files.get(idOf(h));
      if (!fh) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      await applyAttrs(fh, attrs);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('CLOSE', (reqId, h) =>
    handle(reqId, async () => {
      const id = idOf(h);
      const fh = files.get(id);
      const d = dirs.get(id);
      files.delete(id);
      dirs.delete(id);
      if (fh) await fh.close();
      else if (d) await d.dir.close().catch(() => {});
      else return void sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('OPENDIR', (reqId, path) =>
    handle(reqId, async () => {
      const dir = await opendir(local(path));
      const [id, buf] = newHandle();
      dirs.set(id, { dir, path: local(path), done: false });
      sftp.handle(reqId, buf);
    }),
  );
  sftp.on('READDIR', (reqId, h) =>
    handle(reqId, async () => {
      const d = dirs.get(idOf(h));
      if (!d) return void sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
      if (d.done) return void sftp.status(reqId, STATUS_CODE.EOF);
      const names = [];
      for (let i = 0; i < 100; i++) {
        const entry = await d.dir.read();
        if (!entry) {
          d.done = true;
          break;
        }
        const st = await fs.lstat(resolvePath(d.path, entry.name)).catch(() => undefined);
        if (!st) continue;
        names.push({ filename: entry.name, longname: entry.name, attrs: attrsOf(st) });
      }
      if (names.length === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.name(reqId, names);
    }),
  );
  sftp.on('STAT', (reqId, path) => handle(reqId, async () => void sftp.attrs(reqId, attrsOf(await fs.stat(local(path))))));
  sftp.on('LSTAT', (reqId, path) => handle(reqId, async () => void sftp.attrs(reqId, attrsOf(await fs.lstat(local(path))))));
  sftp.on('SETSTAT', (reqId, path, attrs) =>
    handle(reqId, async () => {
      await applyAttrs(local(path), attrs);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('MKDIR', (reqId, path, attrs) =>
    handle(reqId, async () => {
      await fs.mkdir(local(path), { mode: attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o755 });
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('RMDIR', (reqId, path) =>
    handle(reqId, async () => {
      await fs.rmdir(local(path));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('REMOVE', (reqId, path) =>
    handle(reqId, async () => {
      await fs.unlink(local(path));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('RENAME', (reqId, from, to) =>
    handle(reqId, async () => {
      await fs.rename(local(from), local(to));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('REALPATH', (reqId, path) =>
    handle(reqId, async () => {
      const p = local(path);
      sftp.name(reqId, [{ filename: p, longname: p, attrs: {} as Attributes }]);
    }),
  );
  sftp.on('READLINK', (reqId, path) =>
    handle(reqId, async () => {
      const target = await fs.readlink(local(path));
      sftp.name(reqId, [{ filename: target, longname: target, attrs: {} as Attributes }]);
    }),
  );
  sftp.on('SYMLINK', (reqId, target, link) =>
    handle(reqId, async () => {
      await fs.symlink(target, local(link));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  // The client is done: close our side too, or its close() waits for nothing.
  sftp.on('end', () => sftp.end());
  sftp.on('close', () => {
    for (const fh of files.values()) void fh.close().catch(() => {});
    for (const d of dirs.values()) void d.dir.close().catch(() => {});
    files.clear();
    dirs.clear();
  });
}
