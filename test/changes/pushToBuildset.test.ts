import { expect } from 'chai';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMaster } from '../../lib/cli/createMaster.js';
import { Output } from '../../lib/cli/output.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { lastPushes } from '../../lib/db/pushes.js';
import { select } from '../../lib/db/query.js';
import { Master } from '../../lib/master/master.js';
import { forEachDialect, type DbHarness } from '../support/databases.js';
import { freePort, removeDir as removeMasterDir, until } from '../master/masterDir.js';
import { gitCommit, hgCommit, makeGitRepo, makeHgRepo, removeDir, tempDir } from './support.js';

/**
 * End to end, with real repositories and a real Master: commits → poller → one push → a
 * SingleBranchScheduler's tree-stable timer → one buildset with a request per builder, whose
 * sourcestamp is the last commit; and the same timer pending across a restart fires once, at the
 * deadline stored before the stop. Builders have a worker that never answers: we assert on rows.
 */

interface Spec {
  kind: 'git' | 'hg';
  repo: string;
  branch: string;
  stableSeconds: number;
  dbUrl: string;
}

async function masterDir(spec: Spec): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bm-push-'));
  await createMaster(dir, { quiet: true }, new Output(() => {}, () => {}));
  const deadPort = await freePort();
  const poller =
    spec.kind === 'git'
      ? `new changes.GitPoller({ repourl: ${JSON.stringify(spec.repo)}, branches: [${JSON.stringify(spec.branch)}], pollInterval: 3600, project: 'demo' })`
      : `new changes.HgPoller({ repourl: ${JSON.stringify(spec.repo)}, branches: [${JSON.stringify(spec.branch)}], pollInterval: 3600, project: 'demo' })`;
  const builder = (name: string) => `{ name: '${name}', workernames: ['nowhere'], steps: [new steps.ShellCommand({ command: 'true' })] }`;
  await writeFile(
    join(dir, 'master.config.ts'),
    `import { defineConfig, changes, steps, schedulers } from 'buildmaster';
export default defineConfig({
  db: { url: ${JSON.stringify(spec.dbUrl)} },
  www: { host: '127.0.0.1', port: 0 },
  multiMaster: { heartbeatInterval: 1 },
  workers: [{ name: 'nowhere', host: '127.0.0.1', port: ${deadPort}, user: 'nobody', basedir: '/nonexistent' }],
  builders: [${builder('build')}, ${builder('test')}],
  changeSources: [${poller}],
  schedulers: [new schedulers.SingleBranchScheduler({ name: 'stable', branch: ${JSON.stringify(spec.branch)}, treeStableTimer: ${spec.stableSeconds}, builderNames: ['build', 'test'] })],
});
`,
  );
  return dir;
}

interface BuildsetView {
  buildsetid: number;
  submitted_at: number;
  requests: string[];
  stamps: { revision: string | null; branch: string | null; repository: string }[];
}

/** Every buildset in the DB, with its requests' builder names and its sourcestamps. */
async function buildsets(db: Database): Promise<BuildsetView[]> {
  const sets = await select<{ id: number; submitted_at: number }>(db, 'SELECT id, submitted_at FROM buildsets ORDER BY id');
  const out: BuildsetView[] = [];
  for (const bs of sets) {
    const reqs = await select<{ name: string }>(
      db,
      'SELECT b.name FROM buildrequests r JOIN builders b ON b.id = r.builderid WHERE r.buildsetid = ? ORDER BY b.name',
      [bs.id],
    );
    const stamps = await select<{ revision: string | null; branch: string | null; repository: string }>(
      db,
      'SELECT s.revision, s.branch, s.repository FROM buildset_sourcestamps x JOIN sourcestamps s ON s.id = x.sourcestampid WHERE x.buildsetid = ? ORDER BY s.id',
      [bs.id],
    );
    out.push({ buildsetid: Number(bs.id), submitted_at: Number(bs.submitted_at), requests: reqs.map((r) => r.name), stamps });
  }
  return out;
}

async function countBuildsets(db: Database): Promise<number> {
  return Number((await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM buildsets'))[0]!.n);
}

/** The stored deadline (epoch ms) of the scheduler's tree-stable timer, once the change is classified. */
async function storedDeadline(db: Database): Promise<number | undefined> {
  const [row] = await select<{ value_json: string }>(db, "SELECT value_json FROM object_state WHERE name = 'stableTimers'");
  return row ? (JSON.parse(row.value_json) as Record<string, number>).only : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

forEachDialect('commits → poller → push → treeStableTimer → one buildset, through a real Master', (h: DbHarness) => {
  let root: string;
  let dir: string | undefined;
  let master: Master | undefined;
  let db: Database | undefined;

  beforeEach(() => {
    root = tempDir('bmtest-push-');
  });
  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    master = undefined;
    if (h.dialect === 'sqlite') await db?.close();
    db = undefined;
    await removeMasterDir(dir);
    dir = undefined;
    removeDir(root);
  });

  /** The master dir and a DB handle of our own that outlives the masters (the harness migrates MySQL). */
  async function setUp(spec: Omit<Spec, 'dbUrl'>): Promise<Database> {
    if (h.dialect === 'sqlite') {
      dir = await masterDir({ ...spec, dbUrl: 'sqlite:///state.sqlite' });
      db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
    } else {
      db = await h.open();
      dir = await masterDir({ ...spec, dbUrl: h.url() });
    }
    return db;
  }

  async function start(): Promise<Master> {
    master = await Master.start({ basedir: dir! });
    return master;
  }

  /** The one change source (HgPoller names itself repourl_branches when branches are given). */
  function poller(m: Master) {
    expect(m.changeSources!.pollers).to.have.length(1);
    return m.changeSources!.pollers[0]!;
  }

  it('git: two commits → one push → one buildset with a request per builder, at the last commit', async function () {
    this.timeout(120_000);
    const git = makeGitRepo(root);
    const db = await setUp({ kind: 'git', repo: git, branch: 'master', stableSeconds: 2 });
    const m = await start();
    expect(await poller(m).pollNow()).to.deep.equal({ ok: true }); // records the head, no change
    const c1 = gitCommit(git, { 'src/a.c': 'int a;\n' }, 'add a');
    const c2 = gitCommit(git, { 'src/b.c': 'int b;\n', 'README': 'more\n' }, 'add b, touch README');
    expect(await poller(m).pollNow()).to.deep.equal({ ok: true });

    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes).to.have.length(1);
    expect([pushes[0]!.push.source, pushes[0]!.push.branch, pushes[0]!.push.repository]).to.deep.equal(['git', 'master', git]);
    expect(pushes[0]!.changes.map((c) => ({ revision: c.revision, comments: c.comments.trim(), files: [...c.files].sort(), branch: c.branch }))).to.deep.equal([
      { revision: c1, comments: 'add a', files: ['src/a.c'], branch: 'master' },
      { revision: c2, comments: 'add b, touch README', files: ['README', 'src/b.c'], branch: 'master' },
    ]);

    const deadline = await until(() => storedDeadline(db), 'the changes to be classified under the timer');
    expect(await countBuildsets(db)).to.equal(0); // the tree is not stable yet
    await until(async () => (await countBuildsets(db)) > 0, 'the buildset', 30_000);
    expect(Date.now()).to.be.at.least(deadline - 50);
    await sleep(2_500); // another timer period: nothing more comes
    const sets = await buildsets(db);
    expect(sets.map((s) => ({ requests: s.requests, stamps: s.stamps }))).to.deep.equal([
      { requests: ['build', 'test'], stamps: [{ revision: c2, branch: 'master', repository: git }] },
    ]);
    expect(await storedDeadline(db)).to.equal(undefined);
  });

  it('git: a timer pending when the master stops fires once, at its stored deadline, after the restart', async function () {
    this.timeout(120_000);
    const git = makeGitRepo(root);
    // Long enough that stop + start fit before the deadline.
    const db = await setUp({ kind: 'git', repo: git, branch: 'master', stableSeconds: 6 });
    let m = await start();
    await poller(m).pollNow();
    const c1 = gitCommit(git, { 'x.c': '1' }, 'first');
    const c2 = gitCommit(git, { 'y.c': '2' }, 'second');
    await poller(m).pollNow();
    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes.map((p) => p.changes.map((c) => c.revision))).to.deep.equal([[c1, c2]]);
    const deadline = await until(() => storedDeadline(db), 'the changes to be classified under the timer');

    await m.stop();
    master = undefined;
    expect(Date.now()).to.be.lessThan(deadline); // stopped before the timer fired
    expect(await countBuildsets(db)).to.equal(0);

    m = await start();
    expect(Date.now()).to.be.lessThan(deadline); // still pending after the start
    await until(async () => (await countBuildsets(db)) > 0, 'the buildset', 30_000);
    const firedAt = Date.now();
    expect(firedAt).to.be.at.least(deadline - 50);
    expect(firedAt).to.be.lessThan(deadline + 3_000); // at the stored deadline, not a fresh 6 s later
    await sleep(3_000);
    // The poller has nothing new either.
    expect(await poller(m).pollNow()).to.deep.equal({ ok: true });
    expect(await lastPushes(db, { limit: 10 })).to.have.length(1);
    const sets = await buildsets(db);
    expect(sets.map((s) => ({ requests: s.requests, stamps: s.stamps }))).to.deep.equal([
      { requests: ['build', 'test'], stamps: [{ revision: c2, branch: 'master', repository: git }] },
    ]);
    expect(sets[0]!.submitted_at).to.be.at.least(Math.floor(deadline / 1000));
  });

  it('hg: two changesets → one push → one buildset with a request per builder, at the last changeset', async function () {
    this.timeout(120_000);
    const hg = makeHgRepo(root);
    const db = await setUp({ kind: 'hg', repo: hg, branch: 'default', stableSeconds: 2 });
    const m = await start();
    expect(await poller(m).pollNow()).to.deep.equal({ ok: true });
    const h1 = hgCommit(hg, { 'a.py': '1\n' }, 'hg one');
    const h2 = hgCommit(hg, { 'b.py': '2\n' }, 'hg two');
    expect(await poller(m).pollNow()).to.deep.equal({ ok: true });

    const pushes = await lastPushes(db, { limit: 10 });
    expect(pushes).to.have.length(1);
    expect([pushes[0]!.push.source, pushes[0]!.push.branch]).to.deep.equal(['hg', 'default']);
    expect(pushes[0]!.changes.map((c) => ({ revision: c.revision, comments: c.comments.trim(), files: c.files }))).to.deep.equal([
      { revision: h1, comments: 'hg one', files: ['a.py'] },
      { revision: h2, comments: 'hg two', files: ['b.py'] },
    ]);

    await until(async () => (await countBuildsets(db)) > 0, 'the buildset', 30_000);
    await sleep(2_500);
    const sets = await buildsets(db);
    expect(sets.map((s) => ({ requests: s.requests, stamps: s.stamps }))).to.deep.equal([
      { requests: ['build', 'test'], stamps: [{ revision: h2, branch: 'default', repository: hg }] },
    ]);
  });
});
