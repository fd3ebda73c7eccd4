import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  addKnownHost,
  fingerprintSha256,
  hostKeyAlgorithms,
  hostMatches,
  judgeHostKey,
  keysFor,
  keyTypeOf,
  knownHostsPath,
  normalizeFingerprint,
  parseKnownHosts,
  readKnownHosts,
} from '../../lib/workers/knownHosts.js';

const run = promisify(execFile);

async function sshKeygenAvailable(): Promise<boolean> {
  return run('ssh-keygen', ['-V']).then(
    () => true,
    (e: { code?: string }) => e.code !== 'ENOENT',
  );
}

describe('workers/knownHosts', () => {
  let dir: string;
  let key: Buffer;
  let keyLine: string;
  let rsaKey: Buffer;
  beforeEach(async function () {
    if (!(await sshKeygenAvailable())) this.skip();
    dir = await mkdtemp(join(tmpdir(), 'bm-kh-'));
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'c', '-f', join(dir, 'k')]);
    keyLine = (await readFile(join(dir, 'k.pub'), 'utf8')).trim();
    key = Buffer.from(keyLine.split(' ')[1], 'base64');
    await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'c', '-f', join(dir, 'r')]);
    rsaKey = Buffer.from((await readFile(join(dir, 'r.pub'), 'utf8')).split(' ')[1], 'base64');
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fingerprints exactly as ssh-keygen -l prints them', async () => {
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')]);
    expect(stdout.split(' ')[1]).to.equal(fingerprintSha256(key));
    expect(keyTypeOf(key)).to.equal('ssh-ed25519');
    expect(keyTypeOf(rsaKey)).to.equal('ssh-rsa');
    expect(normalizeFingerprint(fingerprintSha256(key) + '=')).to.equal(fingerprintSha256(key));
    expect(() => normalizeFingerprint('MD5:aa:bb')).to.throw(/SHA256/);
  });

  it('matches plain, [host]:port, lists, wildcards and negation', () => {
    expect(hostMatches('example.com', 'example.com', 22)).to.equal(true);
    expect(hostMatches('example.com', 'example.com', 2222)).to.equal(false);
    expect(hostMatches('[example.com]:2222', 'example.com', 2222)).to.equal(true);
    expect(hostMatches('a.org,[b.org]:22,c.org', 'c.org', 22)).to.equal(true);
    expect(hostMatches('*.build.lan,!evil.build.lan', 'w1.build.lan', 22)).to.equal(true);
    expect(hostMatches('*.build.lan,!evil.build.lan', 'evil.build.lan', 22)).to.equal(false);
    expect(hostMatches('w?.lan', 'w1.lan', 22)).to.equal(true);
  });

  it('reads hashed names that ssh-keygen -H wrote', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, `[10.1.2.3]:2200 ${keyLine.split(' ').slice(0, 2).join(' ')}\n`);
    await run('ssh-keygen', ['-q', '-H', '-f', file]);
    const entries = await readKnownHosts(file);
    expect(entries).to.have.length(1);
    expect(entries[0].hosts.startsWith('|1|')).to.equal(true);
    expect(keysFor(entries, '10.1.2.3', 2200).trusted.map((k) => k.fingerprint)).to.deep.equal([fingerprintSha256(key)]);
    expect(keysFor(entries, '10.1.2.3', 22).trusted).to.deep.equal([]);
  });

  it('parses comments, markers and skips junk', () => {
    const text = [
      '# comment',
      '',
      `host1 ssh-ed25519 ${key.toString('base64')}`,
      `@revoked host2 ssh-ed25519 ${key.toString('base64')}`,
      `@cert-authority *.lan ssh-ed25519 ${key.toString('base64')}`,
      'broken line',
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => [e.marker, e.hosts, e.lineNo])).to.deep.equal([
      [undefined, 'host1', 3],
      ['revoked', 'host2', 4],
      ['cert-authority', '*.lan', 5],
    ]);
  });

  it('judges: known, unknown, changed, revoked, pinned', () => {
    const known = keysFor(parseKnownHosts(`[h]:2222 ssh-ed25519 ${key.toString('base64')}`), 'h', 2222);
    expect(judgeHostKey(key, known)).to.deep.equal({ ok: true });
    const other = Buffer.from(key);
    other[other.length - 1] ^= 1;
    expect(judgeHostKey(other, known)).to.deep.include({ ok: false, problem: 'changed' });
    expect(judgeHostKey(rsaKey, known)).to.deep.include({ ok: false, problem: 'unknown' });
    expect(judgeHostKey(key, { trusted: [], revoked: [] })).to.deep.include({ ok: false, problem: 'unknown' });
    expect(judgeHostKey(key, { trusted: [], revoked: [key] })).to.deep.include({ ok: false, problem: 'changed' });
    expect(judgeHostKey(key, { trusted: [], revoked: [] }, fingerprintSha256(key))).to.deep.equal({ ok: true });
    expect(judgeHostKey(other, known, fingerprintSha256(key))).to.deep.include({ ok: false, problem: 'pinnedMismatch' });
  });

  it('steers negotiation to the known key types', () => {
    const known = keysFor(
      parseKnownHosts(`h ssh-rsa ${rsaKey.toString('base64')}\nh ssh-ed25519 ${key.toString('base64')}`),
      'h',
      22,
    );
    expect(hostKeyAlgorithms(known.trusted)).to.deep.equal(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    expect(hostKeyAlgorithms([])).to.equal(undefined);
  });

  it('addKnownHost writes OpenSSH lines, replaces the same host and type, keeps the rest', async () => {
    const file = knownHostsPath(join(dir, 'master'));
    await addKnownHost(file, 'h', 2222, rsaKey);
    await addKnownHost(file, 'other', 22, key);
    const other = Buffer.from(key);
    other[other.length - 1] ^= 1;
    await addKnownHost(file, 'h', 2222, key);
    expect((await addKnownHost(file, 'h', 2222, other)).replaced).to.equal(1);
    expect((await readFile(file, 'utf8')).split('\n')).to.deep.equal([
      `[h]:2222 ssh-rsa ${rsaKey.toString('base64')}`,
      `other ssh-ed25519 ${key.toString('base64')}`,
      `[h]:2222 ssh-ed25519 ${other.toString('base64')}`,
      '',
    ]);
    // ssh-keygen reads our file as a known_hosts file.
    const { stdout } = await run('ssh-keygen', ['-F', '[h]:2222', '-f', file]);
    expect(stdout).to.contain('ssh-ed25519');
  });
});
