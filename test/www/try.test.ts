import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ResolvedConfig, ResolvedWwwAuth } from '../../lib/config/resolved.js';
import { SchedulerManager } from '../../lib/schedulers/manager.js';
import { createApp } from '../../lib/www/app.js';
import { AuthService, tryUsers } from '../../lib/www/auth.js';
import { hashPassword } from '../../lib/www/passwords.js';
import { silentLogger } from '../../lib/util/log.js';
import { scheduler, SchedulerHarness } from '../schedulers/harness.js';
import { runCli } from '../support/cli.js';
import { forEachDialect } from '../support/databases.js';
import { useTempDir } from '../support/tmp.js';

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.org' };
const git = async (cwd: string, ...args: string[]) => (await run('git', args, { cwd, env: GIT_ENV })).stdout.trim();

forEachDialect('www/try and buildmaster try', (h) => {
  const tmp = useTempDir('bm-try-');
  let server: Server | undefined;
  let schedulers: SchedulerManager | undefined;
  afterEach(async () => {
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await schedulers?.stop();
    schedulers = undefined;
  });

  /** `auth`: www.auth users (the Try endpoint then accepts those whose roles allow 'try'). */
  async function serve(auth?: ResolvedWwwAuth): Promise<{ x: SchedulerHarness; base: string }> {
    const x = await SchedulerHarness.create(await h.open(), { builders: ['linux', 'mac', 'other'] });
    schedulers = await SchedulerManager.start(x.deps(), [
      scheduler('Try', { name: 'try', builderNames: ['linux', 'mac'], userpass: [['alice', 'wonder']], token: 'tok-1' }),
    ]);
    const config = { www: { host: '127.0.0.1', port: 0, users: auth ? [] : [{ username: 'admin', password: 'root' }], ...(auth ? { auth } : {}) }, schedulers: [] } as unknown as ResolvedConfig;
    const master = { config, force: async () => ({ bsid: 0, brids: {} }), builderIds: () => x.builderIds, schedulers };
    const service = new AuthService(config);
    const app = auth
      ? createApp({ master, logger: silentLogger(), get users() { return tryUsers(service); } }, { auth: service })
      : createApp({ master, logger: silentLogger(), users: config.www.users });
    server = createServer(app.callback());
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return { x, base: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
  }

  const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  const post = (base: string, body: unknown, headers: Record<string, string>, path = 'api/v2/try') =>
    fetch(new URL(path, base), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const diff = 'diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n';

  it('needs credentials, refuses bad jobs with the reason, and stores nothing for them', async () => {
    const { x, base } = await serve();
    expect((await fetch(new URL('api/v2/try', base))).status).to.equal(401);
    expect((await post(base, { patch: diff }, {})).status).to.equal(401);
    expect((await post(base, { patch: diff }, basic('alice', 'wrong'))).status).to.equal(401);
    expect((await post(base, { patch: diff }, { authorization: 'Bearer nope' })).status).to.equal(401);
    const bad = async (body: unknown, why: RegExp) => {
      const r = await post(base, body, basic('alice', 'wonder'));
      expect(r.status).to.equal(400);
      expect(((await r.json()) as { error: string }).error).to.match(why);
    };
    await bad('{not json', /JSON parse error/);
    await bad({ comment: 'no patch' }, /patch/);
    await bad({ patch: '' }, /empty/);
    await bad({ patch: diff, builderNames: ['other'] }, /other/);
    await bad({ patch: diff, patchlevel: -1 }, /patchlevel/);
    expect((await post(base, { patch: diff }, basic('alice', 'wonder'), 'api/v2/try/nope')).status).to.equal(404);
    expect(await x.buildsetCount()).to.equal(0);
    const list = await fetch(new URL('api/v2/try', base), { headers: { authorization: 'Bearer tok-1', accept: 'application/json' } });
    expect(await list.json()).to.deep.equal({ try: [{ name: 'try', builderNames: ['linux', 'mac'] }], meta: { total: 1 } });
  });

  it('accepts a job from a userpass, a www user or the token', async () => {
    const { x, base } = await serve();
    const r1 = await post(base, { patch: diff, baserev: 'abc', branch: 'main', builderNames: ['mac'], comment: 'c1' }, basic('alice', 'wonder'));
    expect(r1.status).to.equal(201);
    const body = (await r1.json()) as { bsid: number; brids: Record<string, number>; builderNames: string[] };
    expect(body.builderNames).to.deep.equal(['mac']);
    expect(Object.keys(body.brids)).to.deep.equal(['mac']);
    expect((await post(base, { patch_base64: Buffer.from(diff).toString('base64') }, basic('admin', 'root'))).status).to.equal(201);
    expect((await post(base, { patch: diff, who: 'ci-bot' }, { authorization: 'Bearer tok-1' }, 'api/v2/try/try')).status).to.equal(201);
    const sets = await x.buildsets();
    expect(sets.map((s) => [s.reason, s.builders.join(',')])).to.deep.equal([
      ["'try' job by user alice (c1)", 'mac'],
      ["'try' job by user admin", 'linux,mac'],
      ["'try' job by user ci-bot", 'linux,mac'],
    ]);
    expect(sets[0]!.sourcestamps[0]).to.include({ branch: 'main', revision: 'abc' });
    expect(Buffer.from(sets[1]!.sourcestamps[0]!.patch!.patch_base64, 'base64').toString()).to.equal(diff);
  });

  it('a www.auth user needs a role allowing try', async () => {
    const { x, base } = await serve({
      users: [
        { username: 'tina', passwordHash: await hashPassword('t-pass'), roles: ['try'] },
        { username: 'carl', passwordHash: await hashPassword('c-pass'), roles: ['control'] },
      ],
      tokens: [],
      requireLogin: false,
    });
    expect((await post(base, { patch: diff }, basic('carl', 'c-pass'))).status).to.equal(401);
    expect(await x.buildsetCount()).to.equal(0);
    expect((await post(base, { patch: diff }, basic('tina', 'wrong'))).status).to.equal(401);
    expect((await post(base, { patch: diff }, basic('tina', 't-pass'))).status).to.equal(201);
    expect((await x.buildsets()).map((b) => b.reason)).to.deep.equal(["'try' job by user tina"]);
    // Refused credentials count in the login limiter as elsewhere: after 5 within a minute, 429.
    for (let i = 0; i < 3; i++) expect((await post(base, { patch: diff }, basic('tina', `guess${i}`))).status).to.equal(401);
    const limited = await post(base, { patch: diff }, basic('tina', 't-pass'));
    expect(limited.status).to.equal(429);
    expect(Number(limited.headers.get('retry-after'))).to.be.greaterThan(0);
    expect(await x.buildsetCount()).to.equal(1);
  });

  it("`buildmaster try` sends the working tree's diff against where the branch left its upstream", async () => {
    const { x, base } = await serve();
    const origin = join(tmp(), 'origin');
    const work = join(tmp(), 'work');
    await mkdir(origin);
    await git(origin, 'init', '-q', '-b', 'main');
    await writeFile(join(origin, 'a.txt'), 'one\n');
    await git(origin, 'add', '.');
    await git(origin, 'commit', '-q', '-m', 'base');
    const baseRev = await git(origin, 'rev-parse', 'HEAD');
    await git(tmp(), 'clone', '-q', origin, work);
    await writeFile(join(work, 'a.txt'), 'one\ntwo\n');
    await git(work, 'commit', '-q', '-am', 'local, not pushed');
    await writeFile(join(work, 'a.txt'), 'one\ntwo\nthree\n'); // not even committed
    await git(origin, 'commit', '-q', '--allow-empty', '-m', 'upstream moved on (not fetched)');

    const dry = await runCli('try', '--master', base, '-u', 'alice', '--passwd', 'wonder', '--topdir', work, '--dryrun');
    expect(dry.code).to.equal(0);
    expect(dry.stdout).to.contain(baseRev).and.contain('main');
    expect(await x.buildsetCount()).to.equal(0);

    const r = await runCli('try', '--master', base, '-u', 'alice', '--passwd', 'wonder', '--topdir', work, '-b', 'linux', '--comment', 'wip', '--property', 'k=v');
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/try job submitted: buildset \d+ for linux/);
    const [bs] = await x.buildsets();
    const ss = bs!.sourcestamps[0]!;
    expect([ss.branch, ss.revision]).to.deep.equal(['main', baseRev]);
    const patch = Buffer.from(ss.patch!.patch_base64, 'base64').toString();
    expect(patch).to.contain('+two').and.contain('+three').and.contain('a/a.txt');
    expect(bs!.properties.k).to.deep.equal(['v', 'try build']);
    expect(bs!.reason).to.equal("'try' job by user alice (wip)");

    const denied = await runCli('try', '--master', base, '-u', 'alice', '--passwd', 'nope', '--topdir', work);
    expect(denied.code).to.equal(1);
    expect(denied.stderr).to.contain('HTTP 401');
    await git(work, 'stash', '-q');
    await git(work, 'reset', '-q', '--hard', baseRev);
    const nothing = await runCli('try', '--master', base, '--token', 'tok-1', '--topdir', work);
    expect(nothing.code).to.equal(1);
    expect(nothing.stderr).to.contain('nothing to try');
    expect(await x.buildsetCount()).to.equal(1);
  });
});
