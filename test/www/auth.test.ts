import { expect } from 'chai';
import { Readable } from 'node:stream';
import { hashPasswordCommand } from '../../lib/cli/hashPassword.js';
import { Output } from '../../lib/cli/output.js';
import type { ResolvedConfig, ResolvedForceScheduler } from '../../lib/config/resolved.js';
import { Secret } from '../../lib/config/renderables.js';
import { ForceScheduler } from '../../lib/config/schedulers.js';
import { validateConfig } from '../../lib/config/validate.js';
import { prepareForce, type ForceArgs } from '../../lib/schedulers/forceScheduler.js';
import { silentLogger } from '../../lib/util/log.js';
import { WwwServer } from '../../lib/www/app.js';
import { AuthService } from '../../lib/www/auth.js';
import { Authz } from '../../lib/www/authz.js';
import type { WwwMaster } from '../../lib/www/context.js';
import { hashPassword, verifyPassword, verifyPasswordSync } from '../../lib/www/passwords.js';
import { LoginRateLimiter } from '../../lib/www/rateLimit.js';

function configOf(www: Record<string, unknown>, secrets: Record<string, string> = {}): ResolvedConfig {
  const r = validateConfig(
    {
      www: { port: 0, ...www },
      secrets: { values: secrets },
      workers: [{ name: 'w', host: 'h', basedir: '/b' }],
      builders: ['a', 'b'].map((name) => ({ name, workernames: ['w'], steps: [] })),
      schedulers: [new ForceScheduler({ name: 'force', builderNames: ['a', 'b'] })],
    },
    '/tmp',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

/** Validates forces for real and records them instead of building. */
class RecordingMaster implements WwwMaster {
  readonly owners: string[] = [];
  constructor(public config: ResolvedConfig) {}
  builderIds(): ReadonlyMap<string, number> {
    return new Map([['a', 1], ['b', 2]]);
  }
  async force(name: string, args: ForceArgs) {
    const sched = this.config.schedulers.find((s) => s.name === name) as ResolvedForceScheduler;
    prepareForce(sched, args, () => undefined);
    this.owners.push(args.owner ?? '?');
    return { bsid: 1, brids: { 1: 1 } };
  }
}

const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const forceBody = JSON.stringify({ jsonrpc: '2.0', method: 'force', id: 1, params: { builderNames: ['a'] } });

describe('www: authentication and roles', function () {
  this.timeout(60_000);
  let server: WwwServer | undefined;
  let master: RecordingMaster;
  let base: string;
  let aliceHash: string;
  let ciTokenHash: string;
  const CI_TOKEN = 'ci-token-0123456789';

  before(async () => {
    aliceHash = await hashPassword('wonderland');
    ciTokenHash = await hashPassword(CI_TOKEN);
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function serve(extra: Record<string, unknown> = {}, authz?: Record<string, unknown>): Promise<string> {
    const config = configOf(
      {
        auth: {
          users: [
            { username: 'alice', passwordHash: aliceHash, roles: ['control'] },
            { username: 'bob', password: 'builder', roles: [] },
          ],
          tokens: [
            { name: 'ci', tokenHash: ciTokenHash, roles: ['ingest'] },
            { name: 'bot', token: new Secret('bot_token'), roles: ['control'] },
          ],
          ...extra,
        },
        ...(authz ? { authz } : {}),
      },
      { bot_token: 'bot-secret-token' },
    );
    master = new RecordingMaster(config);
    server = await WwwServer.start(master, silentLogger(), { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${server.port}`;
    return base;
  }

  const force = (headers: Record<string, string> = {}) =>
    fetch(`${base}/api/v2/forceschedulers/force`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: forceBody });

  it('hashes with scrypt and reads scrypt, sha256 and plain stored values', async () => {
    const h = await hashPassword('pw');
    expect(h).to.match(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(h).to.not.equal(await hashPassword('pw')); // salted
    expect(await verifyPassword(h, 'pw')).to.equal(true);
    expect(await verifyPassword(h, 'pW')).to.equal(false);
    expect(verifyPasswordSync(h, 'pw')).to.equal(true);
    expect(await verifyPassword('plain', 'plain')).to.equal(true);
    expect(await verifyPassword('scrypt$3$8$1$AA==$AA==', 'x')).to.equal(false); // N not a power of two
  });

  it('hash-password prints a hash of the first stdin line; --new-token a token and its hash', async () => {
    let text = '';
    const out = new Output((t) => (text += t), () => {});
    await hashPasswordCommand({}, out, Readable.from(['s3cret\nignored\n']));
    expect(await verifyPassword(text.trim(), 's3cret')).to.equal(true);
    text = '';
    await hashPasswordCommand({ newToken: true }, out);
    const [, token, hash] = /^token: (\S+)\ntokenHash: (\S+)\n$/.exec(text)!;
    expect(await verifyPassword(hash, token)).to.equal(true);
  });

  it('validates www.auth and warns loudly about plain passwords and the deprecated www.users', function () {
    const bad = validateConfig({ www: { auth: { users: [{ username: 'x', password: 'a', passwordHash: 'scrypt$1' }, { username: 'y', passwordHash: 'md5:abc' }] } } }, '/tmp');
    expect(bad.ok).to.equal(false);
    const messages = JSON.stringify(!bad.ok && bad.problems);
    expect(messages).to.include('give exactly one of passwordHash or password');
    expect(messages).to.include('hash-password');
    const config = configOf({ users: [{ username: 'old', password: 'pw' }], auth: { users: [{ username: 'bob', password: 'builder', roles: [] }], tokens: [{ name: 't', token: 'plain-token' }] } });
    const warnings = new AuthService(config).warnings(config).join('\n');
    expect(warnings).to.match(/www\.users is deprecated/);
    expect(warnings).to.match(/"bob" has a PLAIN-TEXT password/);
    expect(warnings).to.match(/"t" is a PLAIN-TEXT token/);
    expect(config.www.auth!.requireLogin).to.equal(false);
  });

  it('control: 401 without credentials, 403 without the role, 200 with it (Basic or Bearer)', async () => {
    await serve();
    const anonymous = await force();
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('www-authenticate')).to.match(/^Basic realm="buildmaster"/);
    expect(((await anonymous.json()) as { error: { code: number } }).error.code).to.equal(-32600);
    const bob = await force(basic('bob', 'builder'));
    expect(bob.status).to.equal(403);
    expect(((await bob.json()) as { error: { message: string } }).error.message).to.equal("you need to have role 'control'");
    expect((await force(bearer(CI_TOKEN))).status).to.equal(403); // an ingest token may not force
    expect((await force(basic('alice', 'wrong'))).status).to.equal(401);
    expect((await force(bearer('nope'))).status).to.equal(401);
    expect(master.owners).to.deep.equal([]);
    expect((await force(basic('alice', 'wonderland'))).status).to.equal(200);
    expect((await force(bearer('bot-secret-token'))).status).to.equal(200);
    expect(master.owners).to.deep.equal(['alice', 'bot']);
  });

  it('binds 127.0.0.1 unless www.host says otherwise', async () => {
    master = new RecordingMaster(configOf({}));
    server = await WwwServer.start(master, silentLogger(), { port: 0 });
    expect(master.config.www.host).to.equal('127.0.0.1');
    expect(server.host).to.equal('127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${server.port}/api/v2/forceschedulers`)).status).to.equal(200);
    await server.stop();
    server = undefined;
    expect(configOf({ host: '0.0.0.0' }).www.host).to.equal('0.0.0.0');
  });

  it('reads are anonymous by default; requireLogin makes /api and /sse need a login', async () => {
    await serve();
    expect((await fetch(`${base}/api/v2/forceschedulers`)).status).to.equal(200);
    await server!.stop();
    await serve({ requireLogin: true });
    const anon = await fetch(`${base}/api/v2/forceschedulers`);
    expect(anon.status).to.equal(401);
    expect((await fetch(`${base}/sse/listen`)).status).to.equal(401);
    expect((await fetch(`${base}/api/v2/forceschedulers`, { headers: basic('bob', 'builder') })).status).to.equal(200);
    expect((await fetch(`${base}/auth/me`)).status).to.equal(200); // the login page can ask who it is
  });

  it('login sets an HttpOnly SameSite=Strict session cookie; state changes need our Origin or the CSRF token', async () => {
    await serve();
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'wonderland' }) });
    expect(login.status).to.equal(200);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).to.match(/^bm_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict/);
    const { csrfToken, roles } = (await login.json()) as { csrfToken: string; roles: string[] };
    expect(roles).to.deep.equal(['control']);
    const cookie = { cookie: setCookie.split(';')[0] };
    const me = (await (await fetch(`${base}/auth/me`, { headers: cookie })).json()) as Record<string, unknown>;
    expect(me).to.deep.equal({ username: 'alice', via: 'session', roles: ['control'], csrfToken });

    expect((await force(cookie)).status).to.equal(403); // no Origin, Referer or token: refused
    expect((await force({ ...cookie, origin: 'http://evil.example' })).status).to.equal(403);
    expect((await force({ ...cookie, origin: 'http://evil.example', 'x-csrf-token': 'wrong' })).status).to.equal(403);
    expect(master.owners).to.deep.equal([]);
    expect((await force({ ...cookie, origin: base })).status).to.equal(200);
    expect((await force({ ...cookie, referer: `${base}/#/builders` })).status).to.equal(200);
    expect((await force({ ...cookie, 'x-csrf-token': csrfToken })).status).to.equal(200);
    expect(master.owners).to.deep.equal(['alice', 'alice', 'alice']);

    const out = await fetch(`${base}/auth/logout`, { headers: cookie });
    expect(out.headers.get('set-cookie')).to.match(/^bm_session=; .*Max-Age=0/);
    expect(((await (await fetch(`${base}/auth/me`, { headers: cookie })).json()) as { via: string }).via).to.equal('anonymous');
    expect((await force({ ...cookie, origin: base })).status).to.equal(401);

    // A form login works too; a login posted from another site does not.
    const form = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=bob&password=builder' });
    expect(form.status).to.equal(200);
    const cross = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: JSON.stringify({ username: 'alice', password: 'wonderland' }) });
    expect(cross.status).to.equal(403);
  });

  it('follows a reconfig: new users may log in, sessions of removed or changed users end', async () => {
    await serve();
    const login = async (username: string, password: string) =>
      fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    const alice = { cookie: (await login('alice', 'wonderland')).headers.get('set-cookie')!.split(';')[0]! };
    const bob = { cookie: (await login('bob', 'builder')).headers.get('set-cookie')!.split(';')[0]! };
    expect((await login('carol', 'pw')).status).to.equal(401);
    master.config = configOf({ auth: { users: [{ username: 'bob', password: 'builder', roles: [] }, { username: 'carol', password: 'pw', roles: ['control'] }] } });
    expect((await login('carol', 'pw')).status).to.equal(200);
    const via = async (h: Record<string, string>) => ((await (await fetch(`${base}/auth/me`, { headers: h })).json()) as { via: string }).via;
    expect(await via(alice)).to.equal('anonymous');
    expect(await via(bob)).to.equal('session');
    expect((await force(basic('alice', 'wonderland'))).status).to.equal(401);
  });

  it('rate-limits failed logins per address: the 6th attempt within a minute is 429 with Retry-After', async () => {
    await serve();
    const attempt = (password: string) =>
      fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password }) });
    for (let i = 0; i < 4; i++) expect((await attempt(`guess${i}`)).status).to.equal(401);
    expect((await force(basic('alice', 'guess-basic'))).status).to.equal(401); // Basic failures count too
    const limited = await attempt('wonderland');
    expect(limited.status).to.equal(429);
    const wait = Number(limited.headers.get('retry-after'));
    expect(wait).to.be.within(1, 60);
    expect((await force(basic('alice', 'wonderland'))).status).to.equal(429);
  });

  it('behind a proxy on this machine: clients are told apart by X-Forwarded-For and are never `local`', async () => {
    await serve();
    const attempt = (client: string, password: string) =>
      fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.9.9.9, ${client}` }, body: JSON.stringify({ username: 'alice', password }) });
    for (let i = 0; i < 5; i++) expect((await attempt('192.0.2.1', 'guess')).status).to.equal(401);
    expect((await attempt('192.0.2.1', 'wonderland')).status).to.equal(429);
    expect((await attempt('192.0.2.2', 'wonderland')).status).to.equal(200);
    await server!.stop();
    // No users: this machine may control without credentials, but not a client relayed by nginx.
    master = new RecordingMaster(configOf({}));
    server = await WwwServer.start(master, silentLogger(), { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${server.port}`;
    expect((await force()).status).to.equal(200);
    expect((await force({ 'x-forwarded-for': '192.0.2.1' })).status).to.equal(403);
    expect(master.owners).to.deep.equal(['anonymous']);
  });

  it('the limiter forgets failures after its window', function () {
    let now = 1_000_000;
    const l = new LoginRateLimiter(2, 60_000, () => now);
    l.recordFailure('a');
    now += 30_000;
    l.recordFailure('a');
    expect(l.retryAfterSeconds('a')).to.equal(30);
    expect(l.retryAfterSeconds('b')).to.equal(0);
    now += 30_001;
    expect(l.retryAfterSeconds('a')).to.equal(0);
  });

  it('authz: allowRules in order with builder globs, roleMatchers, default roles and admin', function () {
    const authz = new Authz({
      allowRules: [
        { action: 'builds.stop', builder: 'rel-*', role: 'release', defaultDeny: true },
        { action: 'builds.*', role: 'dev', defaultDeny: false },
        { action: 'workers.*', role: 'ops', defaultDeny: true },
      ],
      roleMatchers: [{ roles: ['ops'], usernames: ['olga'] }],
    });
    const user = (username: string, roles: string[] = []) => ({ via: 'basic' as const, username, roles });
    expect(authz.check(user('dan', ['dev']), 'builds.stop', { builder: 'rel-1' })).to.deep.equal({ allowed: false, status: 403, message: "you need to have role 'release'" });
    expect(authz.check(user('rita', ['release']), 'builds.stop', { builder: 'rel-1' }).allowed).to.equal(true);
    expect(authz.check(user('dan', ['dev']), 'builds.stop', { builder: 'main' }).allowed).to.equal(true);
    // defaultDeny false: not dev, so the default role (control) decides.
    expect(authz.check(user('carl', ['control']), 'builds.rebuild').allowed).to.equal(true);
    expect(authz.check(user('eve'), 'builds.rebuild').allowed).to.equal(false);
    expect(authz.check(user('olga'), 'workers.pause').allowed).to.equal(true);
    expect(authz.check(user('carl', ['control']), 'workers.pause').allowed).to.equal(false);
    expect(authz.check(user('root', ['admin']), 'workers.pause').allowed).to.equal(true);
    expect(authz.check(user('ian', ['ingest']), 'ingest').allowed).to.equal(true);
    // try and classify have roles of their own: control is not enough.
    expect(authz.check(user('carl', ['control']), 'classify')).to.deep.equal({ allowed: false, status: 403, message: "you need to have role 'classify'" });
    expect(authz.check(user('carl', ['control']), 'try')).to.deep.equal({ allowed: false, status: 403, message: "you need to have role 'try'" });
    expect(authz.check(user('cleo', ['classify']), 'classify').allowed).to.equal(true);
    expect(authz.check({ via: 'anonymous', roles: [] }, 'ingest')).to.deep.equal({ allowed: false, status: 401, message: 'authentication required' });
  });
});
