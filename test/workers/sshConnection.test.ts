import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HostKeyError } from '../../lib/errors/HostKeyError.js';
import { SshError } from '../../lib/errors/SshError.js';
import { addKnownHost, fetchHostKey, trustHostKey } from '../../lib/workers/knownHosts.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { eventually, makeHarness, waitFor, type Harness } from './harness.js';

const run = promisify(execFile);

async function acceptedLogins(sshd: Sshd): Promise<number> {
  return ((await readFile(sshd.logFile, 'utf8')).match(/Accepted publickey/g) ?? []).length;
}

describe('workers/sshConnection (real sshd)', function () {
  let sshd: Sshd;
  let h: Harness;

  before(async function () {
    sshd = await startSshd(this, { users: 2 });
  });
  after(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  describe('host keys', () => {
    it('refuses an unknown host key with the fingerprint and the command to trust it; nothing runs', async () => {
      const conn = h.connection(sshd, undefined, {}, { reconnect: false });
      const before = await acceptedLogins(sshd);
      const rejected = waitFor<[HostKeyError]>(conn, 'hostKeyRejected');
      const err = await conn.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(HostKeyError);
      const hk = err as HostKeyError;
      expect(hk.problem).to.equal('unknown');
      expect(hk.userError).to.equal(true);
      expect(hk.fingerprint).to.equal(sshd.hostKeyFingerprint);
      expect(hk.message).to.contain(sshd.hostKeyFingerprint);
      expect(hk.message).to.contain(`buildmaster trust-worker ${h.masterDir} w1`);
      expect((await rejected)[0]).to.equal(err);
      const r = await conn.run({ command: 'touch should-not-exist' });
      expect(r.ended).to.equal('connectionLost');
      expect(await acceptedLogins(sshd)).to.equal(before);
    });

    it('refuses a changed host key', async () => {
      const other = Buffer.from(sshd.hostPublicKeyLine.split(' ')[1], 'base64');
      other[other.length - 1] ^= 0xff; // same type, different key
      await addKnownHost(h.knownHostsFile, sshd.host, sshd.port, other);
      const conn = h.connection(sshd, undefined, {}, { reconnect: false });
      const err = (await conn.connect().catch((e: unknown) => e)) as HostKeyError;
      expect(err).to.be.instanceOf(HostKeyError);
      expect(err.problem).to.equal('changed');
      expect(err.message).to.contain('HOST KEY CHANGED').and.to.contain(sshd.hostKeyFingerprint);
      expect(err.message).to.contain(`buildmaster trust-worker ${h.masterDir} w1`);
    });

    it('trust-worker flow: fetch the presented key, add it, and the waiting connection comes up by itself', async () => {
      const conn = h.connection(sshd);
      await conn.connect().catch(() => {});
      const presented = await fetchHostKey({ host: sshd.host, port: sshd.port });
      expect(presented.fingerprint).to.equal(sshd.hostKeyFingerprint);
      expect(presented.line).to.equal(`[${sshd.host}]:${sshd.port} ${sshd.hostPublicKeyLine.split(' ').slice(0, 2).join(' ')}`);
      const connected = waitFor(conn, 'connected');
      const trusted = await trustHostKey(h.masterDir, { host: sshd.host, port: sshd.port });
      expect(trusted).to.include({ file: h.knownHostsFile, fingerprint: sshd.hostKeyFingerprint, replaced: 0 });
      await connected;
      expect((await conn.runCapture({ command: 'echo ok' })).stdout).to.equal('ok\n');
    });

    it('a pinned hostKey is enough; a wrong pin is refused', async () => {
      const good = h.connection(sshd, undefined, { hostKey: sshd.hostKeyFingerprint }, { knownHostsFile: undefined });
      await good.connect();
      expect(good.fingerprint).to.equal(sshd.hostKeyFingerprint);
      const bad = h.connection(sshd, undefined, { hostKey: 'SHA256:' + 'A'.repeat(43) }, { reconnect: false });
      const err = (await bad.connect().catch((e: unknown) => e)) as HostKeyError;
      expect(err.problem).to.equal('pinnedMismatch');
      expect(err.message).to.contain(sshd.hostKeyFingerprint);
    });
  });

  describe('authentication', () => {
    beforeEach(async () => h.trust(sshd));

    it('a key with a passphrase, given as a Secret', async () => {
      const user = sshd.users[1];
      const keyPath = join(h.masterDir, 'enc_key');
      await writeFile(keyPath, await readFile(user.privateKeyPath));
      await run('chmod', ['600', keyPath]);
      await run('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'pa ss', '-f', keyPath]);
      const conn = h.connection(
        sshd,
        user,
        { privateKeyFile: keyPath, privateKeyPassphrase: { kind: 'Secret', name: 'slave_key' } },
        { secrets: (name) => (name === 'slave_key' ? 'pa ss' : undefined) },
      );
      await conn.connect();
      expect((await conn.runCapture({ command: 'id -un' })).stdout.trim()).to.equal(user.name);
    });

    it('a wrong key is an SshError(auth)', async () => {
      const conn = h.connection(sshd, sshd.users[0], { privateKeyFile: sshd.users[1].privateKeyPath }, { reconnect: false });
      const err = (await conn.connect().catch((e: unknown) => e)) as SshError;
      expect(err).to.be.instanceOf(SshError);
      expect(err.code).to.equal('auth');
    });

    it('ssh-agent', async () => {
      const sock = join(h.masterDir, 'agent.sock');
      const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      try {
        await eventually(
          () => run('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: sock } }).then(() => true, (e: { code?: number }) => e.code === 1),
          (ok) => ok,
        );
        await run('ssh-add', [sshd.users[0].privateKeyPath], { env: { SSH_AUTH_SOCK: sock } });
        const conn = h.connection(sshd, sshd.users[0], { privateKeyFile: undefined, agent: sock });
        await conn.connect();
        expect((await conn.runCapture({ command: 'echo via agent' })).stdout).to.equal('via agent\n');
      } finally {
        agent.kill();
      }
    });
  });

  describe('connection loss', () => {
    beforeEach(async () => h.trust(sshd));

    it('cut mid-command: connectionLost, reconnects by itself, and kills what was left running', async () => {
      const conn = h.connection(sshd, sshd.users[1]);
      const sessionsBefore = new Set(await sshd.sessionPids());
      await conn.connect();
      let started!: () => void;
      const isStarted = new Promise<void>((r) => (started = r));
      const running = conn.run({
        command: 'sleep 300 & echo started; wait',
        onStdout: (t) => t.includes('started') && started(),
      });
      await isStarted;
      const disconnected = waitFor<[{ reason: string; willReconnect: boolean }]>(conn, 'disconnected');
      const reconnected = waitFor(conn, 'connected');
      // This connection's own sshd process: the session child of our sshd that was not there before.
      const mine = (await sshd.sessionPids()).filter((p) => !sessionsBefore.has(p));
      expect(mine).to.have.length(1);
      await sshd.killSessions(mine);

      const r = await running;
      expect(r.ended).to.equal('connectionLost');
      expect(r.message).to.match(/^lost connection to worker w1/);
      expect((await disconnected)[0].willReconnect).to.equal(true);
      await reconnected;
      expect((await conn.runCapture({ command: 'echo back' })).stdout).to.equal('back\n');
      // The orphaned `sleep 300` (no pty, so no SIGHUP) is killed after reconnecting.
      const left = await eventually(
        () => sshd.userPids(sshd.users[1].name).then((pids) => pgrepSleep(pids)),
        (n) => n === 0,
      );
      expect(left).to.equal(0);
    });

    it('keepalive notices a host that stopped answering', async () => {
      const conn = h.connection(sshd, undefined, { keepaliveInterval: 1 });
      const before = new Set(await sshd.sessionPids());
      await conn.connect();
      const mine = (await sshd.sessionPids()).filter((p) => !before.has(p));
      const frozen = [...mine, ...(await Promise.all(mine.map((p) => childPids(p)))).flat()];
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
      try {
        const running = conn.run({ command: 'sleep 1; echo done' });
        const [info] = await waitFor<[{ reason: string }]>(conn, 'disconnected', 15_000);
        expect(info.reason).to.match(/keepalive/i);
        expect((await running).ended).to.equal('connectionLost');
        await waitFor(conn, 'connected');
      } finally {
        await sshd.killSessions(mine);
      }
    });

    it('a command on a connection that is down ends connectionLost without waiting', async () => {
      const conn = h.connection(sshd, undefined, {}, { reconnect: false });
      await conn.connect();
      const disconnected = waitFor(conn, 'disconnected');
      await sshd.killSessions();
      await disconnected;
      const r = await conn.run({ command: 'true' });
      expect(r.ended).to.equal('connectionLost');
      expect(conn.state).to.equal('waiting');
    });

    it('close() ends running commands and stops reconnecting', async () => {
      const conn = h.connection(sshd);
      await conn.connect();
      const running = conn.run({ command: 'sleep 30' });
      await new Promise((r) => setTimeout(r, 200));
      const closed = waitFor(conn, 'closed');
      await conn.close();
      await closed;
      expect((await running).ended).to.equal('connectionLost');
      expect(conn.state).to.equal('closed');
    });
  });
});

async function childPids(pid: number): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

async function pgrepSleep(pids: number[]): Promise<number> {
  let n = 0;
  for (const pid of pids) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'sleep') n++;
  }
  return n;
}

describe('workers/sshConnection: host MaxSessions below the configured maxSessions (real sshd)', function () {
  let sshd: Sshd;
  let h: Harness;
  before(async function () {
    sshd = await startSshd(this, { users: 1, maxSessions: 4 });
  });
  after(async () => sshd?.stop());
  afterEach(async () => h?.cleanup());

  it('"open failed" is retried: 30 concurrent commands all succeed', async () => {
    h = await makeHarness();
    await h.trust(sshd);
    const conn = h.connection(sshd, undefined, { maxSessions: 20 });
    await conn.connect();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => conn.runCapture({ command: `sleep 0.1; echo ${i}` })));
    expect(results.filter((r) => r.rc === 0)).to.have.length(30);
    expect(results.map((r) => r.stdout.trim())).to.deep.equal(Array.from({ length: 30 }, (_, i) => String(i)));
  });
});
