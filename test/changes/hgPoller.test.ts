import { expect } from 'chai';
import { join } from 'node:path';
import { HgPoller } from '../../lib/changes/hgPoller.js';
import type { Database } from '../../lib/db/connection.js';
import { lastPushes } from '../../lib/db/pushes.js';
import { select } from '../../lib/db/query.js';
import { getObjectId, getState } from '../../lib/db/state.js';
import { forEachDialect } from '../support/databases.js';
import { captureLogger, hg, hgCommit, hgPollerConfig, makeHgRepo, pollerDeps, removeDir, tempDir } from './support.js';

forEachDialect('HgPoller', (h) => {
  let root: string;
  let repo: string;
  let db: Database;
  const pollers: HgPoller[] = [];

  beforeEach(async () => {
    root = tempDir('bmtest-hgpoller-');
    repo = makeHgRepo(root);
    db = await h.open();
  });

  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
    removeDir(root);
  });

  async function poller(extra: Parameters<typeof hgPollerConfig>[2] = {}, workdir = 'hgwork') {
    const deps = await pollerDeps(db, h.basedir(), 'm1');
    const p = new HgPoller(deps, hgPollerConfig(repo, join(root, workdir), extra));
    pollers.push(p);
    return { p, deps };
  }

  it('records the head first, then makes one push of the new changesets with files, comments and revlinks', async () => {
    const { p, deps } = await poller({ revlink: (branch, rev) => `https://hg.example.org/${branch}/rev/${rev}` });
    const events: string[] = [];
    deps.bus.subscribe(['pushes', '*', 'new'], (key) => events.push(key.join('.')));
    expect(await p.pollNow()).to.deep.equal({ ok: true });
    expect(await lastPushes(db, { limit: 5 })).to.deep.equal([]);

    const r1 = hgCommit(repo, { 'lib/a.py': 'a = 1\n' }, 'add a\n\nmore words', { when: 1_700_000_000 });
    const r2 = hgCommit(repo, { 'lib/b.py': 'b\n', 'doc/b.txt': 'b\n' }, 'add b', { user: 'Bob <bob@example.org>', when: 1_700_000_100 });
    expect(await p.pollNow()).to.deep.equal({ ok: true });

    const pushes = await lastPushes(db, { limit: 5 });
    expect(pushes).to.have.length(1);
    const { push, changes } = pushes[0]!;
    expect(push).to.include({ repository: repo, branch: 'default', author: 'Bob <bob@example.org>', source: 'hg' });
    expect(changes.map((c) => c.revision)).to.deep.equal([r1, r2]);
    expect(changes[0]).to.include({ author: 'Hanna Hg <hanna@example.org>', comments: 'add a\n\nmore words', when_timestamp: 1_700_000_000, branch: 'default', project: 'proj', revlink: `https://hg.example.org/default/rev/${r1}` });
    expect(changes[0]!.files).to.deep.equal(['lib/a.py']);
    expect(changes[1]!.files.sort()).to.deep.equal(['doc/b.txt', 'lib/b.py']);
    expect(events).to.deep.equal([`pushes.${push.id}.new`]);
    expect(await getState(db, await getObjectId(db, repo, 'HgPoller'), 'lastRev', {})).to.deep.equal({ default: r2 });
    expect(await select(db, "SELECT attr_type FROM users_info WHERE attr_data = 'Bob <bob@example.org>'")).to.deep.equal([{ attr_type: 'hg' }]);
  });

  it('neither misses nor repeats across a restart, and keeps branches apart', async () => {
    const first = await poller({ branches: ['default', 'stable'] });
    hg(repo, 'branch', '-q', 'stable');
    hgCommit(repo, { s: '0' }, 'open stable');
    await first.p.pollNow();
    const s1 = hgCommit(repo, { s: '1' }, 'stable fix');
    hg(repo, 'update', '-q', 'default');
    const d1 = hgCommit(repo, { d: '1' }, 'default work');
    await first.p.pollNow();
    const d2 = hgCommit(repo, { d: '2' }, 'more default work');
    await first.p.stop();

    const second = await poller({ branches: ['default', 'stable'] });
    await second.p.pollNow();
    await second.p.pollNow();
    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes.map((x) => [x.push.branch, x.changes.map((c) => c.revision)])).to.deep.equal([
      ['default', [d2]],
      ['stable', [s1]],
      ['default', [d1]],
    ]);
    expect((await lastPushes(db, { repository: repo, branch: 'stable', limit: 10 })).map((x) => x.changes.length)).to.deep.equal([1]);
  });

  it('logs an unreachable repository with the reason and keeps polling', async () => {
    const { logger, records } = captureLogger();
    const deps = await pollerDeps(db, h.basedir(), 'm1', logger);
    const p = new HgPoller(deps, hgPollerConfig(join(root, 'nowhere'), join(root, 'hgwork2')));
    pollers.push(p);
    const outcome = await p.pollNow();
    expect(outcome.ok).to.equal(false);
    const failed = records.find((r) => r.event === 'changes.pollFailed');
    expect(String(failed?.err)).to.match(/hg .*pull.*nowhere.*failed with exit code 255/s);
    expect(String(failed?.err)).to.match(/repository .*nowhere.* not found/i);
  });
});
