import { expect } from 'chai';
import { join } from 'node:path';
import { GitPoller } from '../../lib/changes/gitPoller.js';
import type { PollContext } from '../../lib/changes/pollerBase.js';
import { getChanges } from '../../lib/db/changes.js';
import type { Database } from '../../lib/db/connection.js';
import { lastPushes } from '../../lib/db/pushes.js';
import { select, update } from '../../lib/db/query.js';
import { getObjectId, getState } from '../../lib/db/state.js';
import { forEachDialect } from '../support/databases.js';
import { captureLogger, countRows, git, gitCommit, gitPollerConfig, makeGitRepo, pollerDeps, removeDir, tempDir } from './support.js';

forEachDialect('GitPoller', (h) => {
  let root: string;
  let repo: string;
  let db: Database;
  const pollers: GitPoller[] = [];

  beforeEach(async () => {
    root = tempDir('bmtest-gitpoller-');
    repo = makeGitRepo(root);
    db = await h.open();
  });

  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
    removeDir(root);
  });

  async function poller(extra: Parameters<typeof gitPollerConfig>[2] = {}, masterName = 'm1', logger = captureLogger().logger) {
    const deps = await pollerDeps(db, h.basedir(), masterName, logger);
    const p = new GitPoller(deps, gitPollerConfig(repo, join(root, 'work'), extra));
    pollers.push(p);
    return { p, deps };
  }

  it('records the heads on the first poll, then makes one push of a poll\'s new commits with their files and comments', async () => {
    const { p, deps } = await poller({ category: 'cat' });
    const events: string[] = [];
    deps.bus.subscribe(['*', '*', 'new'], (key) => events.push(key.join('.')));
    expect(await p.pollNow()).to.deep.equal({ ok: true });
    expect(await lastPushes(db, { limit: 10 })).to.deep.equal([]);

    const c1 = gitCommit(repo, { 'src/a.c': 'int a;\n' }, 'add a\n\nwith a body', { when: 1_700_000_000 });
    const c2 = gitCommit(repo, { 'src/b.c': 'int b;\n', 'docs/b.md': 'b\n' }, 'add b', { author: 'Bea <bea@example.org>', when: 1_700_000_100 });
    const c3 = gitCommit(repo, { 'src/a.c': 'int a2;\n' }, 'change a', { when: 1_700_000_200 });
    expect(await p.pollNow()).to.deep.equal({ ok: true });

    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes).to.have.length(1);
    const { push, changes } = pushes[0]!;
    expect(push).to.include({ repository: repo, branch: 'master', author: 'Ann Author <ann@example.org>', source: 'git' });
    expect(changes.map((c) => c.revision)).to.deep.equal([c1, c2, c3]);
    expect(changes.map((c) => c.author)).to.deep.equal(['Ann Author <ann@example.org>', 'Bea <bea@example.org>', 'Ann Author <ann@example.org>']);
    expect(changes[0]).to.include({ committer: 'Carl Committer <carl@example.org>', comments: 'add a\nwith a body', when_timestamp: 1_700_000_000, branch: 'master', project: 'proj', category: 'cat', repository: repo, codebase: '' });
    expect(changes[1]!.files.sort()).to.deep.equal(['docs/b.md', 'src/b.c']);
    expect(changes[2]!.files).to.deep.equal(['src/a.c']);
    // Each change's parent is the one before it.
    expect(changes[1]!.parent_changeids).to.equal(changes[0]!.changeid);
    // The author became a git user, as Buildbot does.
    expect(await select(db, "SELECT attr_type, attr_data FROM users_info WHERE attr_data = 'Bea <bea@example.org>'")).to.deep.equal([{ attr_type: 'git', attr_data: 'Bea <bea@example.org>' }]);
    expect(events).to.deep.equal([`changes.${changes[0]!.changeid}.new`, `changes.${changes[1]!.changeid}.new`, `changes.${changes[2]!.changeid}.new`, `pushes.${push.id}.new`]);

    const state = await getState(db, await getObjectId(db, repo, 'GitPoller'), 'lastRev', {});
    expect(state).to.deep.equal({ master: c3 });
    // Nothing new: nothing stored.
    expect(await p.pollNow()).to.deep.equal({ ok: true });
    expect(await lastPushes(db, { limit: 10 })).to.have.length(1);
  });

  it('neither misses nor repeats a commit across a restart between polls', async () => {
    const first = await poller();
    await first.p.pollNow();
    const c1 = gitCommit(repo, { x: '1' }, 'one');
    await first.p.pollNow();
    const c2 = gitCommit(repo, { x: '2' }, 'two');
    const c3 = gitCommit(repo, { x: '3' }, 'three');
    await first.p.stop();

    const second = await poller();
    await second.p.pollNow();
    await second.p.pollNow();
    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes.map((p) => p.changes.map((c) => c.revision))).to.deep.equal([[c2, c3], [c1]]);
    expect(Number((await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM changes'))[0]!.n)).to.equal(3);
  });

  it('stores nothing and keeps its state when its claim is taken over mid-poll; the new holder stores the push once', async () => {
    const deps = await pollerDeps(db, h.basedir(), 'mA');
    const other = await pollerDeps(db, h.basedir(), 'mB');
    let steal = false;
    // A takeover between the claim check and the store (as after a false dead-master expiry).
    class Interrupted extends GitPoller {
      protected override async poll(ctx: PollContext): Promise<void> {
        if (steal) await update(db, 'UPDATE changesource_masters SET masterid = ?', [other.masterid]);
        return super.poll(ctx);
      }
    }
    const a = new Interrupted(deps, gitPollerConfig(repo, join(root, 'work')));
    pollers.push(a);
    await a.pollNow();
    const c = gitCommit(repo, { y: '1' }, 'one');
    const before = await countRows(db);
    steal = true;
    expect(await a.pollNow()).to.deep.equal({ ok: true, skipped: 'not claimed' });
    steal = false;
    expect(await countRows(db)).to.deep.equal(before);
    expect(a.isActive()).to.equal(false);

    const b = new GitPoller(other, gitPollerConfig(repo, join(root, 'work-b')));
    pollers.push(b);
    await b.pollNow();
    await b.pollNow();
    expect((await lastPushes(db, { limit: 10 })).map((p) => p.changes.map((x) => x.revision))).to.deep.equal([[c]]);
  });

  it('runs on one master at a time and is taken over from a dead one', async () => {
    const a = await poller({}, 'mA');
    const b = await poller({}, 'mB');
    expect(await a.p.pollNow()).to.deep.equal({ ok: true });
    expect(await b.p.pollNow()).to.deep.equal({ ok: true, skipped: 'not claimed' });
    gitCommit(repo, { z: '1' }, 'one');
    // mA stops heartbeating: after deadMasterTimeout mB takes over and polls from mA's state.
    await update(db, 'UPDATE masters SET last_active = last_active - 3600 WHERE id = ?', [a.deps.masterid]);
    expect(await b.p.pollNow()).to.deep.equal({ ok: true });
    expect(b.p.isActive()).to.equal(true);
    expect(await select(db, 'SELECT masterid FROM changesource_masters')).to.deep.equal([{ masterid: b.deps.masterid }]);
    expect((await lastPushes(db, { limit: 10 })).map((p) => p.changes.length)).to.deep.equal([1]);
    // The old holder finds out and stores nothing.
    gitCommit(repo, { z: '2' }, 'two');
    expect(await a.p.pollNow()).to.deep.equal({ ok: true, skipped: 'not claimed' });
    expect((await lastPushes(db, { limit: 10 })).map((p) => p.changes.length)).to.deep.equal([1]);
  });

  it('follows every branch (true): one push per branch, a new branch with its own commits only', async () => {
    const { p } = await poller({ branches: true });
    await p.pollNow();
    git(repo, 'checkout', '-q', '-b', 'feature');
    const f1 = gitCommit(repo, { f: '1' }, 'feature work');
    git(repo, 'checkout', '-q', 'master');
    const m1 = gitCommit(repo, { m: '1' }, 'master work');
    await p.pollNow();
    const pushes = await lastPushes(db, { limit: 10 });
    const byBranch = Object.fromEntries(pushes.map((x) => [x.push.branch, x.changes.map((c) => c.revision)]));
    expect(byBranch).to.deep.equal({ feature: [f1], master: [m1] });
    expect((await lastPushes(db, { branch: 'feature', limit: 5 })).map((x) => x.push.branch)).to.deep.equal(['feature']);
  });

  it('with buildPushesWithNoCommits, a known commit pushed to a new branch is one change', async () => {
    const { p } = await poller({ branches: true, buildPushesWithNoCommits: true });
    await p.pollNow();
    const head = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'branch', 'release');
    await p.pollNow();
    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes.map((x) => [x.push.branch, x.changes.map((c) => c.revision)])).to.deep.equal([['release', [head]]]);
  });

  it('follows tags with only_tags', async () => {
    const { p } = await poller({ only_tags: true, branches: (ref: string) => ref.startsWith('refs/tags/') });
    git(repo, 'tag', 'v1');
    await p.pollNow();
    const c = gitCommit(repo, { t: '2' }, 'for v2');
    git(repo, 'tag', 'v2');
    await p.pollNow();
    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes.map((x) => [x.push.branch, x.changes.map((ch) => ch.revision)])).to.deep.equal([['refs/tags/v2', [c]]]);
  });

  it('logs an unreachable repository with the reason, retries, and recovers when it is back', async () => {
    const { logger, records } = captureLogger();
    const missing = join(root, 'not-yet');
    const deps = await pollerDeps(db, h.basedir(), 'm1', logger);
    const p = new GitPoller(deps, gitPollerConfig(missing, join(root, 'work2')));
    pollers.push(p);
    const outcome = await p.pollNow();
    expect(outcome.ok).to.equal(false);
    expect(p.failures).to.equal(1);
    const failed = records.find((r) => r.event === 'changes.pollFailed');
    expect(String(failed?.err)).to.match(/ls-remote.*not-yet|not-yet.*ls-remote/s);
    expect(String(failed?.err)).to.match(/does not appear to be a git repository|No such file|not found/i);

    git(root, 'clone', '-q', repo, missing);
    expect(await p.pollNow()).to.deep.equal({ ok: true });
    expect(p.failures).to.equal(0);
    const c = gitCommit(missing, { r: '1' }, 'after recovery');
    await p.pollNow();
    expect((await lastPushes(db, { limit: 5 }))[0]!.changes.map((x) => x.revision)).to.deep.equal([c]);
  });

  it('polls on its own timer with backoff after failures, and stops cleanly', async () => {
    const missing = join(root, 'absent');
    const deps = await pollerDeps(db, h.basedir(), 'm1');
    const p = new GitPoller(deps, gitPollerConfig(missing, join(root, 'work3'), { pollInterval: 0.2, pollAtLaunch: true }));
    pollers.push(p);
    const outcomes: boolean[] = [];
    const done = new Promise<void>((resolve) => p.on('polled', (o: { ok: boolean }) => { outcomes.push(o.ok); if (outcomes.length === 3) resolve(); }));
    p.start();
    await done;
    expect(outcomes).to.deep.equal([false, false, false]);
    expect(p.failures).to.be.at.least(3);
    await p.stop();
    expect(await select(db, 'SELECT * FROM changesource_masters')).to.deep.equal([]);
    const changes = await getChanges(db, [1, 2, 3]);
    expect(changes).to.deep.equal([]);
  });
});
