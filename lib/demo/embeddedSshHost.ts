import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Connection, ParsedKey, Server as SshServer, ServerChannel } from 'ssh2';
import { silentLogger, type Logger } from '../util/log.js';
import { fingerprintSha256, knownHostsLine } from '../workers/knownHosts.js';
import { serveSftp } from './embeddedSftp.js';

// ssh2 is CommonJS, and Node's ESM loader sees only some of its exports (not Server or utils): a named
// import works under tsx but fails from dist/.
const { Server, utils } = createRequire(import.meta.url)('ssh2') as typeof import('ssh2');

/**
 * A loopback SSH host for the demo (`npm run demo`): an ssh2 Server on 127.0.0.1 that runs exec
 * requests with /bin/sh as the master's own user, and serves SFTP. The master connects to it
 * exactly as to any slave: publickey auth, host key pinned in known_hosts. Not for production:
 * one authorized key, no privilege separation, no pty, no port forwarding.
 */
export interface EmbeddedSshHostOptions {
  /** Where the host key is kept (created on first start, reused after). */
  dir: string;
  /** The one public key allowed in (`ssh-ed25519 AAAA… comment` or the .pub file's content). */
  authorizedKey: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Working directory for commands that do not cd (default: the user's home). */
  home?: string;
  logger?: Logger;
}

export interface KeyPairFiles {
  privateKeyPath: string;
  publicKeyPath: string;
  publicKeyLine: string;
}

/** An ed25519 key pair in OpenSSH format at `path` / `path.pub`, created if missing. */
export async function ensureKeyPair(path: string, comment = 'buildmaster'): Promise<KeyPairFiles> {
  const publicKeyPath = `${path}.pub`;
  try {
    const publicKeyLine = (await readFile(publicKeyPath, 'utf8')).trim();
    await readFile(path);
    return { privateKeyPath: path, publicKeyPath, publicKeyLine };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = utils.generateKeyPairSync('ed25519', { comment });
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, pair.private, { mode: 0o600 });
  await chmod(path, 0o600);
  await writeFile(publicKeyPath, pair.public.trim() + '\n', { mode: 0o644 });
  return { privateKeyPath: path, publicKeyPath, publicKeyLine: pair.public.trim() };
}

function parsePublicKey(line: string): ParsedKey {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) throw new TypeError(`authorizedKey: ${parsed.message}`);
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

/** Kill a spawned command's whole group (it was started detached, so it leads its group). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

export class EmbeddedSshHost {
  readonly host = '127.0.0.1';
  port = 0;
  hostKeyFingerprint = '';
  hostPublicKeyLine = '';
  private server: SshServer | undefined;
  private readonly connections = new Set<Connection>();
  private readonly children = new Set<ChildProcess>();
  private readonly logger: Logger;

  private constructor(private readonly opts: EmbeddedSshHostOptions) {
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'embeddedSshHost' });
  }

  static async start(opts: EmbeddedSshHostOptions): Promise<EmbeddedSshHost> {
    const host = new EmbeddedSshHost(opts);
    await host.listen();
    return host;
  }

  /** The known_hosts line that trusts this host. */
  get knownHostsLine(): string {
    return knownHostsLine(this.host, this.port, Buffer.from(this.hostPublicKeyLine.split(' ')[1], 'base64'));
  }

  private async listen(): Promise<void> {
    const hostKey = await ensureKeyPair(join(this.opts.dir, 'ssh_host_ed25519_key'), 'buildmaster-embedded-host');
    this.hostPublicKeyLine = hostKey.publicKeyLine;
    this.hostKeyFingerprint = fingerprintSha256(Buffer.from(hostKey.publicKeyLine.split(' ')[1], 'base64'));
    const allowed = parsePublicKey(this.opts.authorizedKey);
    const allowedBlob = allowed.getPublicSSH();

    const server = new Server({ hostKeys: [await readFile(hostKey.privateKeyPath)] }, (client) => {
      this.connections.add(client);
      client.on('close', () => this.connections.delete(client));
      client.on('error', (err) => this.logger.debug({ event: 'embedded.clientError', err: err.message }, 'client error'));
      client.on('authentication', (ctx) => {
        if (ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowedBlob)) {
          // No signature: the client only asks whether this key would do.
          if (!ctx.signature || allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
        }
        ctx.reject(['publickey']);
      });
      client.on('ready', () => {
        // Present at run time, missing from @types/ssh2; without it each exec costs ~40 ms.
        (client as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        client.on('session', (accept) => this.session(accept()));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
    this.logger.info({ event: 'embedded.listening', port: this.port, fingerprint: this.hostKeyFingerprint }, 'embedded SSH host listening');
  }

  private session(session: import('ssh2').Session): void {
    let child: ChildProcess | undefined;
    const env: Record<string, string> = {};
    session.on('env', (accept, _reject, info) => {
      env[info.key] = info.val;
      accept?.();
    });
    session.on('signal', (accept, _reject, info) => {
      if (child) killGroup(child, `SIG${info.name}` as NodeJS.Signals);
      accept?.();
    });
    session.on('exec', (accept, _reject, info) => {
      const ch = accept();
      child = this.exec(ch, info.command, env);
    });
    session.on('sftp', (accept) => serveSftp(accept(), this.opts.home ?? homedir()));
  }

  private exec(ch: ServerChannel, command: string, extraEnv: Record<string, string>): ChildProcess {
    // detached = setsid(): the shell leads its own group, as under OpenSSH's sshd, so the
    // master's `kill -SIG -PGID` reaches the whole tree.
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: this.opts.home ?? homedir(),
      env: { ...process.env, ...extraEnv },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.stdout!.pipe(ch, { end: false });
    child.stderr!.pipe(ch.stderr, { end: false });
    ch.on('data', (d: Buffer) => child.stdin!.write(d));
    ch.on('end', () => child.stdin!.end());
    child.stdin!.on('error', () => {}); // EPIPE when the command does not read its stdin
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (code, signal) => (exit = { code, signal }));
    child.on('error', (err) => {
      ch.stderr.write(`${err.message}\n`);
      exit = { code: 127, signal: null };
    });
    // 'close' comes after the output pipes drained (and after exit), like sshd's channel close.
    child.on('close', () => {
      this.children.delete(child);
      if (exit?.signal) ch.exit(exit.signal.replace(/^SIG/, ''), false, '');
      else ch.exit(exit?.code ?? 0);
      ch.end();
    });
    // The master hung up: don't leave the tree running.
    ch.on('close', () => killGroup(child, 'SIGKILL'));
    return child;
  }

  async stop(): Promise<void> {
    for (const child of this.children) killGroup(child, 'SIGKILL');
    for (const c of this.connections) c.end();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
