import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMaster } from '../../lib/cli/createMaster.js';
import { Output } from '../../lib/cli/output.js';
import { lastPushes } from '../../lib/db/pushes.js';
import { select } from '../../lib/db/query.js';
import { Master } from '../../lib/master/master.js';
import { removeDir as removeMasterDir, until } from '../master/masterDir.js';
import { gitCommit, hgCommit, makeGitRepo, makeHgRepo, removeDir, tempDir } from './support.js';

/** A master directory whose config polls `git` and `hg` (and shares the DB `dbUrl` when given). */
async function masterDir(git: string, hg: string, opts: { dbUrl?: string; pollInterval?: number } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bm-changes-'));
  await createMaster(dir, { quiet: true }, new Output(() => {}, () => {}));
  await writeFile(
    join(dir, 'master.config.ts'),
    `import { defineConfig, changes } from 'buildmaster';
export default defineConfig({
  db: { url: ${JSON.stringify(opts.dbUrl ?? 'sqlite:///state.sqlite')} },
  www: { port: 0 },
  multiMaster: { heartbeatInterval: 1, deadMasterTimeout: 5 },
  changeSources: [
    new changes.GitPoller({ repourl: ${JSON.stringify(git)}, branches: true, pollInterval: ${opts.pollInterval ?? 3600}, project: 'demo' }),
    new changes.HgPoller({ repourl: ${JSON.stringify(hg)}, pollInterval: ${opts.pollInterval ?? 3600} }),
  ],
});
`,
  );
  return dir;
}

describe('Master: change sources', function () {
  this.timeout(120_000);
  let root: string;
  const dirs: string[] = [];
  const masters: Master[] = [];

  beforeEach(() => {
    root = tempDir('bmtest-master-changes-');
  });
  afterEach(async () => {
    for (const m of masters.splice(0)) await m.stop({ graceful: false }).catch(() => {});
    for (const d of dirs.splice(0)) await removeMasterDir(d);
    removeDir(root);
  });

  async function start(dir: string): Promise<Master> {
    const m = await Master.start({ basedir: dir });
    masters.push(m);
    return m;
  }

  it('polls git and hg, one push per poll and branch; a restart neither misses nor repeats', async () => {
    const git = makeGitRepo(root);
    const hg = makeHgRepo(root);
    const dir = await masterDir(git, hg);
    dirs.push(dir);
    let m = await start(dir);
    const gp = () => m.changeSources!.get(git)!;
    const hp = () => m.changeSources!.get(`${hg}`)!;
    expect(await gp().pollNow()).to.deep.equal({ ok: true });
    expect(await hp().pollNow()).to.deep.equal({ ok: true });
    const g1 = gitCommit(git, { 'a.c': '1' }, 'git one');
    const g2 = gitCommit(git, { 'b.c': '2' }, 'git two');
    const h1 = hgCommit(hg, { 'a.py': '1' }, 'hg one');
    await gp().pollNow();
    await hp().pollNow();
    expect(await select(m.db, 'SELECT COUNT(*) AS n FROM changes')).to.deep.equal([{ n: 3 }]);
    // The workdirs live under the master directory, as Buildbot's.
    expect([existsSync(join(dir, 'gitpoller-work', 'HEAD')), existsSync(join(dir, 'hgpoller-work', '.hg'))]).to.deep.equal([true, true]);

    const g3 = gitCommit(git, { 'c.c': '3' }, 'git three');
    const h2 = hgCommit(hg, { 'b.py': '2' }, 'hg two');
    await m.stop();
    masters.splice(masters.indexOf(m), 1);
    m = await start(dir);
    await gp().pollNow();
    await hp().pollNow();
    await gp().pollNow();
    await hp().pollNow();

    const pushes = await lastPushes(m.db, { limit: 10 });
    const summary = pushes.map((p) => [p.push.source, p.push.branch, p.changes.map((c) => c.revision)]).reverse();
    expect(summary).to.deep.equal([
      ['git', 'master', [g1, g2]],
      ['hg', 'default', [h1]],
      ['git', 'master', [g3]],
      ['hg', 'default', [h2]],
    ]);
    expect(pushes.every((p) => p.changes.every((c) => c.repository === (p.push.source === 'git' ? git : hg)))).to.equal(true);
  });

  it('two masters sharing a database: each change source polls on exactly one; the other takes over when it stops', async () => {
    const git = makeGitRepo(root);
    const hg = makeHgRepo(root);
    const first = await masterDir(git, hg, { pollInterval: 1 });
    dirs.push(first);
    const dbUrl = `sqlite:///${join(first, 'state.sqlite')}`;
    const second = await masterDir(git, hg, { dbUrl, pollInterval: 1 });
    dirs.push(second);
    const a = await start(first);
    const b = await start(second);
    const active = (m: Master) => m.changeSources!.pollers.filter((p) => p.isActive()).map((p) => p.name).sort();
    await until(() => active(a).length + active(b).length === 2, 'both change sources claimed', 10_000);
    expect([...active(a), ...active(b)].sort()).to.deep.equal([git, hg].sort());
    const claims = await select<{ masterid: number }>(a.db, 'SELECT masterid FROM changesource_masters');
    expect(claims).to.have.length(2);

    // Let the holders record their first heads, then commit while both run.
    const holderOfGit = active(a).includes(git) ? a : b;
    await holderOfGit.changeSources!.get(git)!.pollNow();
    const c1 = gitCommit(git, { x: '1' }, 'while both run');
    await until(async () => (await lastPushes(a.db, { limit: 5 })).length === 1, 'the push of c1', 10_000);

    // The holder stops (releasing its claims); the other master polls from then on, from the stored state.
    await holderOfGit.stop();
    masters.splice(masters.indexOf(holderOfGit), 1);
    const survivor = holderOfGit === a ? b : a;
    await until(() => active(survivor).length === 2, 'the survivor holding both change sources', 10_000);
    const c2 = gitCommit(git, { x: '2' }, 'after the takeover');
    await until(async () => (await lastPushes(survivor.db, { limit: 5 })).length === 2, 'the push of c2', 10_000);
    const pushes = await lastPushes(survivor.db, { limit: 5 });
    expect(pushes.map((p) => p.changes.map((c) => c.revision))).to.deep.equal([[c2], [c1]]);
  });
});
