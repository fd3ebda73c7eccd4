/**
 * A real OpenSSH sshd for tests: own temp dir, host key, config and port on 127.0.0.1, and K
 * throwaway users (shell /bin/sh, password field '*', home in the temp dir) with an ed25519 key
 * each. Needs root and /usr/sbin/sshd: otherwise the test is skipped, except under CI=true where
 * that is an error. `stop()` kills what it started by PID and removes the users and the dir.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprintSha256 } from '../../lib/workers/knownHosts.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';
const USER_PREFIX = 'bmt';

export interface SshdUser {
  name: string;
  privateKeyPath: string;
  publicKeyLine: string;
  home: string;
  uid: number;
}

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  dir: string;
  pid: number;
  logFile: string;
  hostKeyFingerprint: string;
  hostPublicKeyLine: string;
  hostKeyPath: string;
  users: SshdUser[];
  /** PIDs of the per-connection sshd processes (children of the listener). */
  sessionPids(): Promise<number[]>;
  /**
   * Cut connections as a network failure would: kill the per-connection sshd processes (the
   * privileged monitor and its unprivileged child, which holds the socket). Default: all of them.
   */
  killSessions(pids?: number[]): Promise<void>;
  /** PIDs of processes running as one of our users. */
  userPids(user: string): Promise<number[]>;
  stop(): Promise<void>;
}

export interface SshdOptions {
  users?: number;
  maxSessions?: number;
}

/** Skip (or, under CI, fail) when this machine cannot run a private sshd. */
export function requireSshd(ctx: Mocha.Context): void {
  const missing = process.getuid?.() !== 0 ? 'not running as root' : !existsSync(SSHD) ? `${SSHD} is missing` : undefined;
  if (!missing) return;
  if (process.env.CI === 'true') throw new Error(`a real sshd is required under CI: ${missing}`);
  ctx.skip();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something on the port speaks SSH. */
function sshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-2.0-OpenSSH')));
    sock.once('error', () => done(false));
  });
}

async function pgrep(args: string[]): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', args);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function killPids(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function removeUser(name: string): Promise<void> {
  killPids(await pgrep(['-u', name]));
  for (let i = 0; i < 20; i++) {
    try {
      await run('userdel', [name]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100)); // processes still exiting
      killPids(await pgrep(['-u', name]));
    }
  }
}

/** Users an earlier, crashed run left behind: ours by prefix, with a home that no longer exists. */
async function removeStaleUsers(): Promise<void> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [name, , , , , home] = line.split(':');
    if (name?.startsWith(`${USER_PREFIX}_`) && home?.startsWith(join(tmpdir(), 'bm-sshd-')) && !existsSync(home)) {
      await removeUser(name);
    }
  }
}

export async function startSshd(ctx: Mocha.Context, opts: SshdOptions = {}): Promise<Sshd> {
  requireSshd(ctx);
  await removeStaleUsers();
  const dir = await mkdtemp(join(tmpdir(), 'bm-sshd-'));
  await chmod(dir, 0o755); // users must reach their home and authorized_keys below it
  const created: string[] = [];
  let child: ChildProcess | undefined;

  const stop = async () => {
    if (child?.pid) {
      const sessions = await pgrep(['-P', String(child.pid)]);
      killPids([child.pid], 'SIGTERM');
      if (!(await waitExit(child, 5000))) killPids([child.pid], 'SIGKILL');
      killPids(sessions);
    }
    for (const name of created) await removeUser(name);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privsep dir, compiled in
    await mkdir(join(dir, 'keys'), { mode: 0o755 });
    const hostKeyPath = join(dir, 'host_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bm-test-host', '-f', hostKeyPath]);
    const hostPublicKeyLine = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim();

    const tag = randomBytes(3).toString('hex');
    const users: SshdUser[] = [];
    for (let i = 0; i < (opts.users ?? 1); i++) {
      const name = `${USER_PREFIX}_${tag}_${i}`;
      const home = join(dir, `home-${i}`);
      await mkdir(home);
      // '*' not '!': a '!'-locked account is refused with UsePAM no.
      await run('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-p', '*', name]);
      created.push(name);
      const uid = Number((await run('id', ['-u', name])).stdout.trim());
      await chown(home, uid, -1);
      const privateKeyPath = join(dir, `user_${i}_ed25519`);
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateKeyPath]);
      const publicKeyLine = (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim();
      await writeFile(join(dir, 'keys', name), publicKeyLine + '\n', { mode: 0o644 });
      users.push({ name, privateKeyPath, publicKeyLine, home, uid });
    }

    const logFile = join(dir, 'sshd.log');
    const config = join(dir, 'sshd_config');
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      await writeFile(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKeyPath}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(dir, 'keys', '%u')}`,
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no', // keys under /tmp
          'UseDNS no',
          'PrintMotd no',
          `MaxSessions ${opts.maxSessions ?? 64}`,
          'MaxStartups 100:30:200',
          'Subsystem sftp internal-sftp',
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
      );
      await run(SSHD, ['-t', '-f', config]);
      const proc = spawn(SSHD, ['-D', '-f', config, '-E', logFile], { stdio: 'ignore' });
      child = proc;
      let ready = false;
      for (let i = 0; i < 100 && proc.exitCode === null; i++) {
        if (await sshBanner(port)) {
          ready = proc.exitCode === null;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (ready) {
        return {
          host: '127.0.0.1',
          port,
          dir,
          pid: proc.pid!,
          logFile,
          hostKeyFingerprint: fingerprintSha256(Buffer.from(hostPublicKeyLine.split(' ')[1], 'base64')),
          hostPublicKeyLine,
          hostKeyPath,
          users,
          sessionPids: () => pgrep(['-P', String(proc.pid)]),
          killSessions: async (pids) => {
            const monitors = pids ?? (await pgrep(['-P', String(proc.pid)]));
            const children = (await Promise.all(monitors.map((p) => pgrep(['-P', String(p)])))).flat();
            killPids([...children, ...monitors]);
          },
          userPids: (user) => pgrep(['-u', user]),
          stop,
        };
      }
      killPids([proc.pid!]);
      await waitExit(proc, 2000);
      child = undefined;
      if (attempt >= 3) throw new Error(`sshd did not start: ${await readFile(logFile, 'utf8').catch(() => '')}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
