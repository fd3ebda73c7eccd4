import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import type { ChangeHooksOptions } from '../../lib/config/types.js';
import type { ResolvedConfig } from '../../lib/config/resolved.js';
import { Secret } from '../../lib/config/renderables.js';
import { validateConfig } from '../../lib/config/validate.js';
import type { Database } from '../../lib/db/connection.js';
import { lastPushes } from '../../lib/db/pushes.js';
import { MessageBus } from '../../lib/master/bus.js';
import { silentLogger } from '../../lib/util/log.js';
import { WwwServer } from '../../lib/www/app.js';
import type { WwwMaster } from '../../lib/www/context.js';
import { countRows } from '../changes/support.js';
import { forEachDialect } from '../support/databases.js';

const SECRET = 'It’s a Secret to Everybody';

/** The web server over a real database and bus (what the Master gives it), nothing else running. */
class HookMaster implements WwwMaster {
  readonly config: ResolvedConfig;
  readonly bus = new MessageBus();
  constructor(readonly db: Database, changeHooks: ChangeHooksOptions) {
    const r = validateConfig({ www: { port: 0, changeHooks }, secrets: { values: { ghsecret: SECRET } } }, '/tmp');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    this.config = r.config;
  }
  builderIds(): ReadonlyMap<string, number> {
    return new Map();
  }
  force(): never {
    throw new Error('not here');
  }
}

function commit(id: string, message: string, files: { added?: string[]; modified?: string[]; removed?: string[] } = {}, distinct = true) {
  return {
    id,
    message,
    timestamp: '2024-03-01T10:00:00+01:00',
    url: `https://github.com/acme/widget/commit/${id}`,
    distinct,
    author: { name: 'Ann Author', email: 'ann@example.org', username: 'ann' },
    committer: { name: 'GitHub', email: 'noreply@github.com' },
    added: files.added ?? [],
    modified: files.modified ?? [],
    removed: files.removed ?? [],
  };
}

function pushPayload(extra: Record<string, unknown> = {}) {
  const commits = [commit('a1', 'first', { added: ['src/new.c'] }), commit('b2', 'second', { modified: ['README'] }, false), commit('c3', 'third\n\nbody', { removed: ['old.txt'], modified: ['src/new.c'] })];
  return {
    ref: 'refs/heads/main',
    before: '0000',
    after: 'c3',
    created: false,
    deleted: false,
    forced: false,
    commits,
    head_commit: commits[2],
    repository: { name: 'widget', full_name: 'acme/widget', html_url: 'https://github.com/acme/widget', pushed_at: 1_709_283_600 },
    pusher: { name: 'pusher-pat', email: 'pat@example.org' },
    sender: { login: 'pat' },
    ...extra,
  };
}

function prPayload(action: string) {
  return {
    action,
    number: 7,
    pull_request: {
      title: 'Make it faster',
      body: 'Details.',
      commits: 2,
      created_at: '2024-03-02T08:00:00Z',
      html_url: 'https://github.com/acme/widget/pull/7',
      _links: { html: { href: 'https://github.com/acme/widget/pull/7' } },
      head: { sha: 'feedface', ref: 'faster' },
      base: { ref: 'main', repo: { full_name: 'acme/widget' } },
    },
    repository: { full_name: 'acme/widget', html_url: 'https://github.com/acme/widget' },
    sender: { login: 'octocat' },
  };
}

function sign(body: string, secret = SECRET, algorithm: 'sha256' | 'sha1' = 'sha256'): string {
  return `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;
}

forEachDialect('www: change hooks', (h) => {
  let server: WwwServer | undefined;
  let master: HookMaster;
  let db: Database;

  async function serve(hooks: ChangeHooksOptions): Promise<string> {
    db = await h.open();
    master = new HookMaster(db, hooks);
    server = await WwwServer.start(master, silentLogger(), { host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${server.port}`;
  }

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function github(base: string, event: string, body: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${base}/change_hook/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': event, ...headers }, body });
    return { status: res.status, text: await res.text() };
  }

  it('GitHub push with a correct HMAC-SHA256 signature: one change per commit, all in one push, announced', async () => {
    const base = await serve({ github: { secret: new Secret('ghsecret') } });
    const events: string[] = [];
    master.bus.subscribe(['*', '*', 'new'], (key) => events.push(key.join('.')));
    const body = JSON.stringify(pushPayload());
    expect(await github(base, 'push', body, { 'x-hub-signature-256': sign(body) })).to.deep.equal({ status: 200, text: '3 change found' });

    const pushes = await lastPushes(db, { limit: 5 });
    expect(pushes).to.have.length(1);
    const { push, changes } = pushes[0]!;
    expect(push).to.include({ repository: 'https://github.com/acme/widget', branch: 'main', author: 'pusher-pat <pat@example.org>', pushed_at: 1_709_283_600, source: 'github' });
    expect(changes.map((c) => c.revision)).to.deep.equal(['a1', 'b2', 'c3']);
    expect(changes[2]).to.include({
      author: 'Ann Author <ann@example.org>',
      committer: 'GitHub <noreply@github.com>',
      comments: 'third\n\nbody',
      when_timestamp: 1_709_283_600,
      branch: 'main',
      category: null,
      repository: 'https://github.com/acme/widget',
      project: 'acme/widget',
      revlink: 'https://github.com/acme/widget/commit/c3',
    });
    expect(changes[2]!.files.sort()).to.deep.equal(['old.txt', 'src/new.c']);
    expect(changes[1]!.properties).to.deep.equal({ github_distinct: [false, 'Change'], event: ['push', 'Change'] });
    expect(events).to.deep.equal([...changes.map((c) => `changes.${c.changeid}.new`), `pushes.${push.id}.new`]);
  });

  it('a wrong, missing or SHA-1 signature is 403 and adds no row to any table', async () => {
    const base = await serve({ github: { secret: SECRET } });
    const body = JSON.stringify(pushPayload());
    const before = await countRows(db);
    expect(await github(base, 'push', body, { 'x-hub-signature-256': sign(body, 'wrong secret') })).to.deep.equal({ status: 403, text: 'signature mismatch' });
    expect(await github(base, 'push', `${body} `, { 'x-hub-signature-256': sign(body) })).to.deep.equal({ status: 403, text: 'signature mismatch' });
    expect(await github(base, 'push', body, { 'x-hub-signature-256': 'sha256=zz' })).to.deep.include({ status: 403 });
    expect(await github(base, 'push', body)).to.deep.equal({ status: 403, text: 'the request is not signed (X-Hub-Signature-256 missing)' });
    expect((await github(base, 'push', body, { 'x-hub-signature': sign(body, SECRET, 'sha1') })).status).to.equal(403);
    // A bad signature is refused before the event is even looked at.
    expect((await github(base, 'no-such-event', body, { 'x-hub-signature-256': sign(body, 'nope') })).status).to.equal(403);
    expect(await countRows(db)).to.deep.equal(before);
  });

  it('accepts X-Hub-Signature (SHA-1) only when allowSha1 is set', async () => {
    const base = await serve({ github: { secret: SECRET, allowSha1: true } });
    const body = JSON.stringify(pushPayload());
    expect(await github(base, 'push', body, { 'x-hub-signature': sign(body, SECRET, 'sha1') })).to.deep.equal({ status: 200, text: '3 change found' });
    expect((await github(base, 'push', body, { 'x-hub-signature': sign(body, 'other', 'sha1') })).status).to.equal(403);
  });

  it('malformed payloads and unknown events are 400 with the reason, a ping is 200; none stores anything', async () => {
    const base = await serve({ github: { secret: SECRET } });
    const before = await countRows(db);
    const send = (event: string, body: string) => github(base, event, body, { 'x-hub-signature-256': sign(body) });
    const bad = await send('push', '{"ref": ');
    expect(bad.status).to.equal(400);
    expect(bad.text).to.match(/^invalid JSON payload: /);
    const noRepo = pushPayload();
    delete (noRepo as Record<string, unknown>).repository;
    expect(await send('push', JSON.stringify(noRepo))).to.deep.equal({ status: 400, text: 'malformed payload: repository.html_url is missing' });
    const badCommit = pushPayload();
    (badCommit.commits[1] as Record<string, unknown>).timestamp = 'yesterday';
    expect(await send('push', JSON.stringify(badCommit))).to.deep.equal({ status: 400, text: 'malformed payload: commits[1].timestamp is not a date: "yesterday"' });
    expect(await send('issues', '{}')).to.deep.equal({ status: 400, text: 'Unknown event: issues' });
    expect(await send('ping', JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }))).to.deep.equal({ status: 200, text: 'no change found' });
    expect(await countRows(db)).to.deep.equal(before);
  });

  it('tags get category tag, a created branch only its head commit; deletions and [skip ci] give nothing', async () => {
    const base = await serve({ github: { secret: SECRET } });
    const send = (payload: unknown) => {
      const body = JSON.stringify(payload);
      return github(base, 'push', body, { 'x-hub-signature-256': sign(body) });
    };
    expect(await send(pushPayload({ ref: 'refs/tags/v1.0', created: true }))).to.deep.equal({ status: 200, text: '1 change found' });
    expect(await send(pushPayload({ ref: 'refs/heads/gone', deleted: true, head_commit: null, commits: [] }))).to.deep.equal({ status: 200, text: 'no change found' });
    const skipped = pushPayload();
    skipped.head_commit = commit('d4', 'wip [skip ci]');
    expect(await send(skipped)).to.deep.equal({ status: 200, text: 'no change found' });
    const pushes = await lastPushes(db, { limit: 5 });
    expect(pushes.map((p) => [p.push.branch, p.changes.map((c) => [c.revision, c.category])])).to.deep.equal([['v1.0', [['c3', 'tag']]]]);
  });

  it('a pull request (opened/synchronize) is one change on refs/pull/N/merge with category pull; closed gives nothing', async () => {
    const base = await serve({ github: { secret: SECRET, codebase: 'widget' } });
    const send = (payload: unknown) => {
      const body = JSON.stringify(payload);
      return github(base, 'pull_request', body, { 'x-hub-signature-256': sign(body) });
    };
    expect(await send(prPayload('opened'))).to.deep.equal({ status: 200, text: '1 change found' });
    expect(await send(prPayload('closed'))).to.deep.equal({ status: 200, text: 'no change found' });
    const [p] = await lastPushes(db, { limit: 5 });
    expect(p!.push).to.include({ branch: 'refs/pull/7/merge', author: 'octocat', source: 'github' });
    expect(p!.changes[0]).to.include({
      revision: 'feedface',
      branch: 'refs/pull/7/merge',
      category: 'pull',
      codebase: 'widget',
      project: 'acme/widget',
      when_timestamp: 1_709_366_400,
      comments: 'GitHub Pull Request #7 (2 commits)\nMake it faster\nDetails.',
    });
    expect(p!.changes[0]!.properties).to.deep.equal({
      pullrequesturl: ['https://github.com/acme/widget/pull/7', 'Change'],
      event: ['pull_request', 'Change'],
      basename: ['main', 'Change'],
    });
  });

  it('base: Buildbot\'s form fields, or JSON (a list is one push); a bad field is 400 and stores nothing', async () => {
    const base = await serve({ base: true });
    const form = new URLSearchParams({
      who: 'Sam <sam@example.org>',
      comments: 'fix the frobnicator',
      revision: 'abc123',
      when: '1700000000.5',
      branch: 'trunk',
      category: 'bugfix',
      repository: 'https://example.org/repo.git',
      project: 'frob',
      files: JSON.stringify(['a.c', 'b/c.h']),
      properties: JSON.stringify({ ticket: 42 }),
    });
    const res = await fetch(`${base}/change_hook/base`, { method: 'POST', body: form });
    expect([res.status, await res.text()]).to.deep.equal([200, '1 change found']);

    const json = [
      { author: 'Ann', comments: 'one', revision: 'r1', branch: 'trunk', repository: 'https://example.org/repo.git', files: ['x'] },
      { author: 'Ann', comments: 'two', revision: 'r2', branch: 'trunk', repository: 'https://example.org/repo.git', properties: { k: 'v' } },
    ];
    const res2 = await fetch(`${base}/change_hook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
    expect([res2.status, await res2.text()]).to.deep.equal([200, '2 change found']);

    const pushes = await lastPushes(db, { repository: 'https://example.org/repo.git', branch: 'trunk', limit: 5 });
    expect(pushes.map((p) => [p.push.source, p.changes.map((c) => c.revision)])).to.deep.equal([['base', ['r1', 'r2']], ['base', ['abc123']]]);
    expect(pushes[1]!.changes[0]).to.include({ author: 'Sam <sam@example.org>', comments: 'fix the frobnicator', when_timestamp: 1_700_000_000, category: 'bugfix', project: 'frob' });
    expect(pushes[1]!.changes[0]!.files).to.deep.equal(['a.c', 'b/c.h']);
    expect(pushes[1]!.changes[0]!.properties).to.deep.equal({ ticket: [42, 'Change'] });

    const before = await countRows(db);
    const bad = await fetch(`${base}/change_hook/base`, { method: 'POST', body: new URLSearchParams({ who: 'x', files: 'not json' }) });
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.match(/^files: invalid JSON/);
    const noAuthor = await fetch(`${base}/change_hook/base`, { method: 'POST', body: new URLSearchParams({ comments: 'x' }) });
    expect([noAuthor.status, await noAuthor.text()]).to.deep.equal([400, 'author (or who) is required']);
    const mixed = await fetch(`${base}/change_hook/base`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ author: 'a', branch: 'x' }, { author: 'a', branch: 'y' }]) });
    expect(mixed.status).to.equal(400);
    const tooLong = await fetch(`${base}/change_hook/base`, { method: 'POST', body: new URLSearchParams({ who: 'x', branch: 'b'.repeat(300) }) });
    expect([tooLong.status, await tooLong.text()]).to.deep.equal([400, 'branch is longer than 255 characters']);
    const notEnabled = await fetch(`${base}/change_hook/github`, { method: 'POST', headers: { 'x-github-event': 'ping' }, body: '{}' });
    expect([notEnabled.status, await notEnabled.text()]).to.deep.equal([400, "The dialect specified, 'github', wasn't whitelisted in change_hook"]);
    expect(await countRows(db)).to.deep.equal(before);
  });

  it('base with auth needs those HTTP Basic credentials', async () => {
    const base = await serve({ base: { auth: { username: 'change', password: 'changepw' } } });
    const post = (headers: Record<string, string>) => fetch(`${base}/change_hook/base`, { method: 'POST', headers, body: new URLSearchParams({ who: 'x' }) });
    const none = await post({});
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Basic /);
    expect((await post({ authorization: `Basic ${Buffer.from('change:wrong').toString('base64')}` })).status).to.equal(401);
    expect((await post({ authorization: `Basic ${Buffer.from('change:changepw').toString('base64')}` })).status).to.equal(200);
    expect(await lastPushes(db, { limit: 5 })).to.have.length(1);
  });
});
