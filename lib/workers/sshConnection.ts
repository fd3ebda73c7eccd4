import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { HostKeyError } from '../errors/HostKeyError.js';
import { SshError } from '../errors/SshError.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import { silentLogger, type Logger } from '../util/log.js';
import { recordExitStatus } from './exitStatus.js';
import { ChannelQueue } from './channelQueue.js';
import {
  fingerprintSha256,
  hostField,
  hostKeyAlgorithms,
  judgeHostKey,
  keysFor,
  keyTypeOf,
  readKnownHosts,
} from './knownHosts.js';
import { platformFor } from './platforms/index.js';
import type { Platform, RemoteProcessRef } from './platforms/platform.js';
import { runRemoteCommand, type CommandHost, type RunOptions } from './remoteCommand.js';
import { authOptions } from './sshAuth.js';
import { SftpSession } from './sftp.js';
import type { RunResult, SecretLookup, SshWorkerConfig } from './types.js';

export interface SshConnectionOptions {
  /** The master's known_hosts (`knownHostsPath(masterDir)`); required unless the worker pins `hostKey`. */
  knownHostsFile?: string;
  /** For the trust command in HostKeyError messages; default: the known_hosts file's directory. */
  masterDir?: string;
  logger?: Logger;
  /** Resolves a `Secret` privateKeyPassphrase. */
  secrets?: SecretLookup;
  /** Re-establish a lost connection by itself (default true). */
  reconnect?: boolean;
  /** Reconnect delays: capped exponential with jitter (default 1 s … 60 s). */
  backoff?: { baseMs?: number; maxMs?: number };
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/** Typed lifecycle events; tests await them (`once(conn, 'connected')`) instead of sleeping. */
export interface SshConnectionEvents {
  connected: [{ fingerprint: string; attempt: number }];
  disconnected: [{ reason: string; willReconnect: boolean }];
  connectFailed: [{ error: Error; attempt: number; willReconnect: boolean }];
  hostKeyRejected: [HostKeyError];
  reconnecting: [{ attempt: number; delayMs: number }];
  closed: [];
}

export interface CapturedResult extends RunResult {
  stdout: string;
  stderr: string;
}

const MAX_ORPHANS = 200;

function isOpenFailure(err: unknown): boolean {
  return err instanceof Error && /open failed|Channel open failure/i.test(err.message) && !/closed channel unexpectedly/.test(err.message);
}

/**
 * One SSH connection to one slave host (ssh2), kept up: keepalive, and after a loss a new
 * connection with capped jittered backoff. Host keys are checked against the master's known_hosts
 * (or the worker's pinned fingerprint) before anything runs. Commands and SFTP sessions share the
 * host's MaxSessions through a ChannelQueue.
 *
 *   const conn = new SshConnection(workerConfig, { knownHostsFile, logger, secrets });
 *   await conn.connect();
 *   const r = await conn.run({ command, workdir, env, timeoutS, maxTimeS, signal, onStdout, onStderr });
 *   conn.on('disconnected', ({ reason }) => …);
 *   await conn.close();
 */
export class SshConnection extends EventEmitter<SshConnectionEvents> {
  readonly config: SshWorkerConfig;
  readonly platform: Platform;
  readonly logger: Logger;
  private readonly opts: SshConnectionOptions;
  private readonly queue: ChannelQueue;
  private client: Client | undefined;
  private _state: ConnectionState = 'idle';
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lost: string | undefined = 'not connected yet';
  private readonly orphans = new Map<string, RemoteProcessRef>();
  private warnedLimit = false;
  /** The presented host key of the current connection. */
  fingerprint: string | undefined;

  constructor(config: SshWorkerConfig, opts: SshConnectionOptions = {}) {
    super();
    if (!config.hostKey && !opts.knownHostsFile) {
      throw new TypeError(`worker ${config.name}: need a knownHostsFile or a pinned hostKey`);
    }
    this.config = config;
    this.opts = opts;
    this.platform = platformFor(config);
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'ssh', worker: config.name });
    this.queue = new ChannelQueue(config.maxSessions ?? 10);
  }

  get state(): ConnectionState {
    return this._state;
  }

  get workerName(): string {
    return this.config.name;
  }

  private get port(): number {
    return this.config.port ?? 22;
  }

  private get where(): string {
    return `${this.config.user}@${hostField(this.config.host, this.port)}`;
  }

  /** A method, not a field read, so TypeScript does not narrow `_state` across awaits. */
  private isClosed(): boolean {
    return this._state === 'closed';
  }

  isConnected(): boolean {
    return this._state === 'connected';
  }

  /** Why we are not connected, or undefined when connected. */
  lostReason(): string | undefined {
    return this._state === 'connected' ? undefined : this.lost;
  }

  /**
   * Connect once. Resolves when connected; rejects with HostKeyError or SshError when this attempt
   * fails, and then (unless `reconnect: false`) keeps trying in the background.
   */
  connect(): Promise<void> {
    if (this._state === 'closed') return Promise.reject(new SshError(`worker ${this.config.name}: connection closed`, { code: 'closed', worker: this.config.name }));
    if (this._state === 'connected') return Promise.resolve();
    if (this.connecting) return this.connecting;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.connecting = this.attemptConnect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async attemptConnect(): Promise<void> {
    this._state = 'connecting';
    const attempt = ++this.attempt;
    try {
      await this.dial(attempt);
    } catch (err) {
      if (this.isClosed()) throw err;
      const willReconnect = this.opts.reconnect !== false;
      this._state = 'waiting';
      this.lost = (err as Error).message;
      this.logger.warn({ event: 'ssh.connectFailed', attempt, err: (err as Error).message }, 'connect failed');
      this.emit('connectFailed', { error: err as Error, attempt, willReconnect });
      if (willReconnect) this.scheduleReconnect();
      throw err;
    }
  }

  private scheduleReconnect(): void {
    if (this._state === 'closed' || this.reconnectTimer) return;
    this._state = 'waiting';
    const delayMs = backoffDelay(Math.max(0, this.attempt - 1), this.opts.backoff?.baseMs ?? 1000, this.opts.backoff?.maxMs ?? 60_000);
    this.emit('reconnecting', { attempt: this.attempt + 1, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch(() => {
        /* reported through events; the next attempt is scheduled */
      });
    }, delayMs);
  }

  private async dial(attempt: number): Promise<void> {
    const c = this.config;
    const auth = await authOptions(c, this.opts.secrets);
    // Read known_hosts on every attempt: `buildmaster trust-worker` takes effect without a restart.
    const known = c.hostKey ? { trusted: [], revoked: [] } : keysFor(await readKnownHosts(this.opts.knownHostsFile!), c.host, this.port);
    let rejected: HostKeyError | undefined;
    let presented: Buffer | undefined;
    const client = new Client();

    await new Promise<void>((resolve, reject) => {
      let ready = false;
      const fail = (err: Error) => {
        client.removeAllListeners();
        client.on('error', () => {});
        client.destroy();
        reject(err);
      };
      client.on('ready', () => {
        ready = true;
        // Without it each exec costs ~40 ms of Nagle + delayed ACK.
        client.setNoDelay(true);
        resolve();
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (ready) {
          this.lost = err.message;
          return; // 'close' follows
        }
        if (rejected) return fail(rejected);
        const code = err.level === 'client-authentication' ? 'auth' : /passphrase|private key|parse/i.test(err.message) ? 'key' : 'connect';
        fail(
          new SshError(`worker ${c.name}: cannot connect to ${this.where}: ${err.message}`, {
            code,
            worker: c.name,
            host: c.host,
            cause: err,
          }),
        );
      });
      client.on('close', () => {
        if (!ready) return fail(rejected ?? new SshError(`worker ${c.name}: connection to ${this.where} closed during handshake`, { code: 'connect', worker: c.name, host: c.host }));
        this.onClose(client);
      });
      try {
        client.connect({
          host: c.host,
          port: this.port,
          username: c.user,
          ...auth,
          readyTimeout: (c.connectTimeout ?? 20) * 1000,
          keepaliveInterval: (c.keepaliveInterval ?? 15) * 1000,
          keepaliveCountMax: 3,
          algorithms: c.hostKey ? undefined : { serverHostKey: hostKeyAlgorithms(known.trusted) as never },
          hostVerifier: (key: Buffer) => {
            presented = Buffer.from(key);
            const verdict = judgeHostKey(presented, known, c.hostKey);
            if (verdict.ok) return true;
            rejected = this.hostKeyError(presented, verdict.problem, verdict.expected);
            return false;
          },
        });
      } catch (err) {
        // ssh2 throws synchronously for a key it cannot parse or decrypt.
        fail(new SshError(`worker ${c.name}: ${(err as Error).message}`, { code: 'key', worker: c.name, cause: err }));
      }
    }).catch((err: Error) => {
      if (err instanceof HostKeyError) {
        this.logger.error({ event: 'ssh.hostKeyRejected', problem: err.problem, fingerprint: err.fingerprint }, err.message);
        this.emit('hostKeyRejected', err);
      }
      throw err;
    });

    if (this.isClosed()) {
      client.end();
      throw new SshError(`worker ${c.name}: connection closed`, { code: 'closed', worker: c.name });
    }
    this.client = client;
    this.fingerprint = fingerprintSha256(presented!);
    this._state = 'connected';
    this.lost = undefined;
    this.attempt = 0;
    this.queue.reset();
    this.logger.info({ event: 'ssh.connected', host: c.host, port: this.port, fingerprint: this.fingerprint }, 'connected');
    this.emit('connected', { fingerprint: this.fingerprint, attempt });
    void this.reapOrphans();
  }

  private hostKeyError(key: Buffer, problem: 'unknown' | 'changed' | 'pinnedMismatch', expected: string[]): HostKeyError {
    const masterDir = this.opts.masterDir ?? (this.opts.knownHostsFile ? dirname(this.opts.knownHostsFile) : '<masterdir>');
    return new HostKeyError({
      worker: this.config.name,
      host: this.config.host,
      port: this.port,
      problem,
      fingerprint: fingerprintSha256(key),
      keyType: keyTypeOf(key),
      expected,
      knownHostsFile: this.opts.knownHostsFile,
      trustCommand: problem === 'pinnedMismatch' ? undefined : `buildmaster trust-worker ${masterDir} ${this.config.name}`,
    });
  }

  private onClose(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    const reason = this.lost ?? 'connection closed by the host';
    this.lost = reason;
    this.queue.failAll(new SshError(`worker ${this.config.name}: connection lost (${reason})`, { code: 'notConnected', worker: this.config.name }));
    if (this._state === 'closed') return;
    const willReconnect = this.opts.reconnect !== false;
    this._state = 'waiting';
    this.logger.warn({ event: 'ssh.disconnected', reason, willReconnect }, 'connection lost');
    this.emit('disconnected', { reason, willReconnect });
    if (willReconnect) {
      this.attempt = 0;
      this.scheduleReconnect();
    }
  }

  // ---- channels ----

  /** Open an exec channel once a session slot is free; retries when the host says "open failed". */
  async openExec(line: string, opts: { signal?: AbortSignal; control?: boolean } = {}): Promise<{ channel: ClientChannel; release: () => void }> {
    return this.openChannel(opts, (client, cb) =>
      client.exec(line, (err, ch) => {
        if (ch) recordExitStatus(ch);
        cb(err, ch);
      }),
    );
  }

  private async openChannel<T>(
    opts: { signal?: AbortSignal; control?: boolean },
    open: (client: Client, cb: (err: Error | undefined, ch: T) => void) => void,
  ): Promise<{ channel: T; release: () => void }> {
    for (let attempt = 0; ; attempt++) {
      this.assertConnected();
      const release = await this.queue.acquire(opts);
      const client = this.client;
      try {
        if (!client) throw new SshError(`worker ${this.config.name}: not connected`, { code: 'notConnected', worker: this.config.name });
        const channel = await new Promise<T>((resolve, reject) => {
          try {
            open(client, (err, ch) => (err ? reject(err) : resolve(ch)));
          } catch (err) {
            reject(err);
          }
        });
        if (channel && typeof (channel as unknown as EventEmitter).once === 'function') {
          (channel as unknown as EventEmitter).once('close', release);
        }
        return { channel, release };
      } catch (err) {
        const others = this.queue.openChannels - 1;
        release();
        if (!isOpenFailure(err) || !this.isConnected()) throw err;
        if (this.queue.learnLimit(others) && !this.warnedLimit) {
          this.warnedLimit = true;
          this.logger.warn(
            { event: 'ssh.sessionLimit', configured: this.queue.configured, learnt: others },
            `host refused a session with ${others} open: set the worker's maxSessions to the host's MaxSessions (or raise it in sshd_config)`,
          );
        }
        // With nothing else of ours open the refusal is not about MaxSessions: give up after a few tries.
        if (others === 0 && attempt >= 4) {
          throw new SshError(`worker ${this.config.name}: host refuses to open a session: ${(err as Error).message}`, { code: 'channel', worker: this.config.name, cause: err });
        }
        await sleep(backoffDelay(attempt, 20, 1000), opts.signal);
      }
    }
  }

  private assertConnected(): void {
    if (!this.isConnected()) {
      throw new SshError(`worker ${this.config.name}: not connected (${this.lost ?? this._state})`, { code: 'notConnected', worker: this.config.name });
    }
  }

  /** Run a kill line; failures only get logged (the command may have just ended). */
  async runControl(line: string): Promise<void> {
    try {
      const { channel } = await this.openExec(line, { control: true });
      await new Promise<void>((resolve) => {
        channel.on('close', () => resolve());
        channel.on('data', () => {});
        channel.stderr.on('data', () => {});
        channel.end();
      });
    } catch (err) {
      this.logger.warn({ event: 'ssh.controlFailed', err: (err as Error).message }, 'control command failed');
    }
  }

  noteOrphan(ref: RemoteProcessRef): void {
    if (this.orphans.size >= MAX_ORPHANS) return;
    this.orphans.set(ref.nonce, { ...ref });
  }

  /** Kill what was running when the connection dropped (no pty: those processes got no SIGHUP). */
  private async reapOrphans(): Promise<void> {
    const refs = [...this.orphans.values()];
    this.orphans.clear();
    await Promise.all(
      refs.map(async (ref) => {
        const line = this.platform.killLine(ref, 'KILL');
        if (!line) return;
        this.logger.info({ event: 'ssh.reapOrphan', nonce: ref.nonce, pid: ref.pid }, 'killing a command left running by a lost connection');
        await this.runControl(line);
      }),
    );
  }

  // ---- commands ----

  private get commandHost(): CommandHost {
    return {
      workerName: this.config.name,
      platform: this.platform,
      logger: this.logger,
      isConnected: () => this.isConnected(),
      lostReason: () => this.lostReason(),
      openExec: (line, o) => this.openExec(line, o),
      runControl: (line) => this.runControl(line),
      noteOrphan: (ref) => this.noteOrphan(ref),
    };
  }

  /** Run a command; see RunOptions and RunResult. Never rejects for the command's own failures. */
  run(opts: RunOptions): Promise<RunResult> {
    return runRemoteCommand(this.commandHost, opts);
  }

  /** Run and collect the output (for small outputs: helpers, probes, tests). */
  async runCapture(opts: Omit<RunOptions, 'onStdout' | 'onStderr'>): Promise<CapturedResult> {
    let stdout = '';
    let stderr = '';
    const r = await this.run({ ...opts, onStdout: (t) => (stdout += t), onStderr: (t) => (stderr += t) });
    return { ...r, stdout, stderr };
  }

  private async helper(what: string, command: string | string[], path: string): Promise<CapturedResult> {
    const r = await this.runCapture({ command, timeoutS: 300 });
    if (r.ended !== 'exit') {
      throw new SshError(`worker ${this.config.name}: ${what} ${path}: ${r.message}`, { code: r.ended === 'connectionLost' ? 'notConnected' : 'channel', worker: this.config.name });
    }
    return r;
  }

  /** `mkdir -p` on the slave. */
  async mkdirp(path: string): Promise<void> {
    const r = await this.helper('mkdir', this.platform.mkdirCommand(path), path);
    if (r.rc !== 0) throw new SshError(`worker ${this.config.name}: cannot create directory ${path}: ${r.stderr.trim() || r.message}`, { code: 'channel', worker: this.config.name });
  }

  /** Remove a file or a whole directory tree on the slave (Buildbot's RemoveDirectory); absent is fine. */
  async removePath(path: string): Promise<void> {
    const r = await this.helper('remove', this.platform.removeCommand(path), path);
    if (r.rc !== 0) throw new SshError(`worker ${this.config.name}: cannot remove ${path}: ${r.stderr.trim() || r.message}`, { code: 'channel', worker: this.config.name });
  }

  async pathExists(path: string): Promise<boolean> {
    const r = await this.helper('test', this.platform.existsCommand(path), path);
    return r.rc === 0;
  }

  /** An SFTP session on this connection (it holds one session slot until closed). */
  async sftp(opts: { signal?: AbortSignal } = {}): Promise<SftpSession> {
    const { channel, release } = await this.openChannel<SFTPWrapper>(opts, (client, cb) => client.sftp(cb));
    return new SftpSession(channel, { worker: this.config.name, platform: this.platform, release });
  }

  /** Close for good: no reconnect; running commands end 'connectionLost'. */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this.lost = 'connection closed by the master';
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    this.queue.failAll(new SshError(`worker ${this.config.name}: connection closed`, { code: 'closed', worker: this.config.name }));
    if (client) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          client.destroy();
          resolve();
        }, 2000);
        client.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        client.end();
      });
    }
    await this.connecting?.catch(() => {});
    this.emit('closed');
  }
}
