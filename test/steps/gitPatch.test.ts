import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Git, ShellCommand } from '../../lib/config/steps.js';
import type { PatchSpec } from '../../lib/db/sourcestamps.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { makeRepo, makeWorld, readBuild, type BuildWorld, useSshdPerSuite } from '../process/buildHarness.js';

const run = promisify(execFile);

const GOOD = [
  'diff --git a/a.txt b/a.txt',
  '--- a/a.txt',
  '+++ b/a.txt',
  '@@ -1 +1 @@',
  '-a',
  '+patched',
  'diff --git a/new.txt b/new.txt',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/new.txt',
  '@@ -0,0 +1 @@',
  '+new',
  '',
].join('\n');

const BAD = ['--- a/a.txt', '+++ b/a.txt', '@@ -1 +1 @@', '-not what the file holds', '+x', ''].join('\n');

describe('steps/Git with a patch (try jobs; real sshd, real git)', function () {
  this.timeout(60_000);
  const env = useSshdPerSuite();

  forEachDialect('patches', (h) => {
    before(function () {
      if (h.dialect !== 'sqlite') this.skip(); // git behaviour, not DB behaviour
    });
    let w: BuildWorld;
    let repo: Awaited<ReturnType<typeof makeRepo>>;
    let head: string;
    let n = 0;
    beforeEach(async () => {
      w = await makeWorld(h, env.sshd, env.ssh);
      repo = await makeRepo(join(env.sshd.dir, `prepo-${++n}`), w.user.uid);
      head = await repo.commit('a.txt', 'a\n', 'a');
    });
    const stamp = (patch?: PatchSpec) => ({ sourcestamp: { codebase: '', branch: null, revision: null, repository: '', project: '', patch: patch ?? null } });
    const workdir = () => join(w.workerBasedir, 'b1', 'build');
    const listing = async () => (await run('ls', ['-A', workdir()])).stdout.split('\n').filter(Boolean).sort();
    const config = (mode: 'incremental' | 'full' = 'incremental') =>
      w.config([new Git({ repourl: repo.path, mode }), new ShellCommand({ command: 'cat a.txt; cat new.txt 2>/dev/null || echo no-new' })]);
    const shellOut = async (buildid: number) => (await readBuild(w.db, buildid)).step('shell')!.log('stdio')!.lines.filter((l) => l.startsWith('o'));

    it('applies the patch after checkout; the next build without one sees clean sources', async () => {
      const b = await w.build(config(), stamp({ body: GOOD, level: 1, author: 'alice', comment: 'try it' }));
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results, stored.dump()).to.equal(SUCCESS);
      expect(await shellOut(b.build.buildid)).to.deep.equal(['opatched', 'onew']);
      const git = stored.step('git')!;
      expect(git.log('patch')!.lines.join('\n')).to.equal(GOOD.trimEnd());
      const stdio = git.log('stdio')!.lines;
      expect(stdio.some((l) => l.startsWith('hgit apply --index -p 1'))).to.equal(true);
      expect(stdio.some((l) => l.startsWith('happlying patch by alice') && l.includes('-p1') && l.includes('(try it)'))).to.equal(true);
      expect(stored.properties.got_revision[0]).to.equal(head); // the base revision, as Buildbot
      expect(await listing()).to.include('.buildbot-patched').and.not.include('.buildbot-diff');

      const next = await w.build(config(), stamp());
      const s2 = await readBuild(w.db, next.build.buildid);
      expect(next.results, s2.dump()).to.equal(SUCCESS);
      expect(await shellOut(next.build.buildid)).to.deep.equal(['oa', 'ono-new']);
      expect(s2.step('git')!.log('stdio')!.lines).to.include('hgit clean -f -f -d -x');
      expect(s2.step('git')!.log('patch')).to.equal(undefined);
      expect(await listing()).to.deep.equal(['.git', 'a.txt']);
      expect((await run('git', ['-c', 'safe.directory=*', '-C', workdir(), 'status', '--porcelain'])).stdout).to.equal('');
    });

    it('a patch that does not apply fails the step with a clear log, and halts the build', async () => {
      await w.build(config(), stamp()); // an existing checkout: the incremental path
      const b = await w.build(config(), stamp({ body: BAD, level: 1 }));
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results).to.equal(FAILURE);
      expect(stored.steps.map((s) => s.name)).to.deep.equal(['worker_preparation', 'git']);
      expect(stored.step('git')!.state_string).to.equal('update (failure)');
      const stdio = stored.step('git')!.log('stdio')!.lines;
      expect(stdio.some((l) => /^e.*patch (failed|does not apply)/.test(l)), stored.dump()).to.equal(true);
      expect(stdio.some((l) => l.startsWith('hpatch did not apply: git apply failed with exit code 1'))).to.equal(true);
      expect(await readFile(join(workdir(), 'a.txt'), 'utf8')).to.equal('a\n');

      const next = await w.build(config('full'), stamp());
      expect(next.results).to.equal(SUCCESS);
      expect(await listing()).to.deep.equal(['.git', 'a.txt']);
    });

    it('applies in the patch subdir, at its level', async () => {
      await mkdir(join(repo.path, 'sub'), { recursive: true });
      await repo.commit('sub/b.txt', 'b\n', 'b');
      const body = ['--- b.txt', '+++ b.txt', '@@ -1 +1 @@', '-b', '+patched b', ''].join('\n');
      const cfg = w.config([new Git({ repourl: repo.path }), new ShellCommand({ command: 'cat sub/b.txt' })]);
      const b = await w.build(cfg, stamp({ body, level: 0, subdir: 'sub' }));
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results, stored.dump()).to.equal(SUCCESS);
      expect(stored.step('shell')!.log('stdio')!.lines).to.include('opatched b');
      const next = await w.build(cfg, stamp());
      expect(next.results).to.equal(SUCCESS);
      expect(await readFile(join(workdir(), 'sub', 'b.txt'), 'utf8')).to.equal('b\n');
    });
  });
});
