import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedSshHost, ensureKeyPair } from '../../lib/demo/embeddedSshHost.js';
import { HostKeyError } from '../../lib/errors/HostKeyError.js';
import { addKnownHost, knownHostsPath } from '../../lib/workers/knownHosts.js';
import { SshConnection } from '../../lib/workers/sshConnection.js';
import { basicExecSftpTests } from './basicSuite.js';

describe('demo/embeddedSshHost (ssh2 Server, no sshd)', function () {
  let masterDir: string;
  let host: EmbeddedSshHost;
  let conn: SshConnection;
  let clientKey: string;

  before(async () => {
    masterDir = await mkdtemp(join(tmpdir(), 'bm-embedded-'));
    const key = await ensureKeyPair(join(masterDir, 'id_ed25519'));
    clientKey = key.privateKeyPath;
    host = await EmbeddedSshHost.start({ dir: join(masterDir, 'host'), authorizedKey: key.publicKeyLine, home: masterDir });
    await addKnownHost(knownHostsPath(masterDir), host.host, host.port, Buffer.from(host.hostPublicKeyLine.split(' ')[1], 'base64'));
    conn = new SshConnection(
      { name: 'demo', host: host.host, port: host.port, user: 'demo', privateKeyFile: clientKey, maxSessions: 10 },
      { knownHostsFile: knownHostsPath(masterDir) },
    );
    await conn.connect();
  });
  after(async () => {
    await conn?.close();
    await host?.stop();
    await rm(masterDir, { recursive: true, force: true });
  });

  basicExecSftpTests({ conn: () => conn, remoteDir: () => masterDir });

  it('keeps its host key across restarts, so known_hosts stays valid', async () => {
    const again = await EmbeddedSshHost.start({ dir: join(masterDir, 'host'), authorizedKey: (await ensureKeyPair(join(masterDir, 'id_ed25519'))).publicKeyLine });
    try {
      expect(again.hostKeyFingerprint).to.equal(host.hostKeyFingerprint);
      expect(again.knownHostsLine).to.match(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
    } finally {
      await again.stop();
    }
  });

  it('refuses a key other than the authorized one', async () => {
    const other = await ensureKeyPair(join(masterDir, 'other_key'));
    const c = new SshConnection(
      { name: 'demo', host: host.host, port: host.port, user: 'demo', privateKeyFile: other.privateKeyPath },
      { knownHostsFile: knownHostsPath(masterDir), reconnect: false },
    );
    const err = (await c.connect().catch((e: unknown) => e)) as Error & { code?: string };
    await c.close();
    expect(err.code).to.equal('auth');
  });

  it('is refused like any host when its key is not in known_hosts', async () => {
    const c = new SshConnection(
      { name: 'demo', host: host.host, port: host.port, user: 'demo', privateKeyFile: clientKey },
      { knownHostsFile: join(masterDir, 'empty_known_hosts'), reconnect: false },
    );
    const err = await c.connect().catch((e: unknown) => e);
    await c.close();
    expect(err).to.be.instanceOf(HostKeyError);
  });

  it('sequential exec latency (setNoDelay on the server side)', async () => {
    const n = 50;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await conn.run({ command: 'true' });
    const perExec = (performance.now() - t0) / n;
    console.log(`      embedded host sequential exec: ${perExec.toFixed(2)} ms/command over ${n}`);
    expect(perExec).to.be.lessThan(30);
  });
});
