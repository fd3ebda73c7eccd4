import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Secret } from '../../lib/config/renderables.js';
import { Git, ShellCommand } from '../../lib/config/steps.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { makeRepo, makeWorld, readBuild, type BuildWorld, useSshdPerSuite } from '../process/buildHarness.js';

const run = promisify(execFile);

describe('steps/Git (real sshd, real git)', function () {
  this.timeout(60_000);
  const env = useSshdPerSuite();

  forEachDialect('modes', (h) => {
    before(function () {
      if (h.dialect !== 'sqlite') this.skip(); // git behaviour, not DB behaviour
    });
    let w: BuildWorld;
    let repo: Awaited<ReturnType<typeof makeRepo>>;
    let n = 0;
    beforeEach(async () => {
      w = await makeWorld(h, env.sshd, env.ssh);
      repo = await makeRepo(join(env.sshd.dir, `repo-${++n}`), w.user.uid);
      await repo.commit('.gitignore', 'ignored.txt\n', 'ignore');
    });
    const stamp = (extra: Record<string, unknown> = {}) => ({ sourcestamp: { codebase: '', branch: null, revision: null, repository: '', project: '', ...extra } });
    /** Files in the build's workdir on the slave (the slave is this machine). */
    const workdir = () => join(w.workerBasedir, 'b1', 'build');
    const listing = async (dir = workdir()) => (await run('ls', ['-A', dir])).stdout.split('\n').filter(Boolean).sort();
    const dirt = async () => {
      await writeFile(join(workdir(), 'untracked.txt'), 'u');
      await writeFile(join(workdir(), 'ignored.txt'), 'i');
      await chown(join(workdir(), 'untracked.txt'), w.user.uid, -1);
      await chown(join(workdir(), 'ignored.txt'), w.user.uid, -1);
    };
    const gitLines = async (buildid: number) => (await readBuild(w.db, buildid)).step('git')!.log('stdio')!.lines.filter((l) => l.startsWith('hgit ') || l.startsWith('hrmdir'));

    it('full/clean removes untracked files but keeps ignored ones; full/fresh removes both', async () => {
      await repo.commit('a.txt', 'a', 'a');
      const clean = w.config([new Git({ repourl: repo.path, mode: 'full', method: 'clean' })]);
      expect((await w.build(clean, stamp())).results).to.equal(SUCCESS);
      await dirt();
      const b = await w.build(clean, stamp());
      expect(b.results).to.equal(SUCCESS);
      expect(await listing()).to.deep.equal(['.git', '.gitignore', 'a.txt', 'ignored.txt']);
      expect((await gitLines(b.build.buildid)).map((l) => l.split(' ').slice(0, 3).join(' '))).to.include('hgit clean -f');

      const fresh = w.config([new Git({ repourl: repo.path, mode: 'full', method: 'fresh' })]);
      await dirt();
      expect((await w.build(fresh, stamp())).results).to.equal(SUCCESS);
      expect(await listing()).to.deep.equal(['.git', '.gitignore', 'a.txt']);
    });

    it('full/clobber removes the directory and clones; shallow clones one commit', async () => {
      await repo.commit('a.txt', 'a', 'a');
      await repo.commit('a.txt', 'b', 'b');
      const config = w.config([
        new Git({ repourl: `file://${repo.path}`, mode: 'full', method: 'clobber', shallow: true }),
        new ShellCommand({ command: 'git rev-list --count HEAD' }),
      ]);
      await mkdir(workdir(), { recursive: true });
      await writeFile(join(workdir(), 'stale.txt'), 'x');
      await run('chown', ['-R', String(w.user.uid), join(w.workerBasedir, 'b1')]);
      const b = await w.build(config, stamp());
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results, stored.dump()).to.equal(SUCCESS);
      expect(await listing()).to.not.include('stale.txt');
      expect(stored.step('shell')!.log('stdio')!.lines).to.include('o1');
      const lines = await gitLines(b.build.buildid);
      expect(lines.some((l) => l.startsWith('hrmdir '))).to.equal(true);
      expect(lines.some((l) => l.includes('clone --depth 1'))).to.equal(true);
    });

    it('full/copy updates source/ and copies it to the workdir', async () => {
      const head = await repo.commit('a.txt', 'a', 'a');
      const config = w.config([new Git({ repourl: repo.path, mode: 'full', method: 'copy' })]);
      const b = await w.build(config, stamp());
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results, stored.dump()).to.equal(SUCCESS);
      expect(await listing(join(w.workerBasedir, 'b1', 'source'))).to.include('.git');
      expect(await listing()).to.include.members(['.git', 'a.txt']);
      expect(stored.properties.got_revision[0]).to.equal(head);
    });

    it('clones and checks out the sourcestamp branch', async () => {
      await repo.commit('a.txt', 'main', 'on main');
      await run('git', ['-c', 'safe.directory=*', '-C', repo.path, 'checkout', '-q', '-b', 'feature']);
      const feature = await repo.commit('a.txt', 'feature', 'on feature');
      await run('git', ['-c', 'safe.directory=*', '-C', repo.path, 'checkout', '-q', 'main']);
      const config = w.config([new Git({ repourl: repo.path }), new ShellCommand({ command: 'git rev-parse --abbrev-ref HEAD; cat a.txt' })]);
      const b = await w.build(config, stamp({ branch: 'feature' }));
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results, stored.dump()).to.equal(SUCCESS);
      expect(stored.properties.got_revision[0]).to.equal(feature);
      expect(stored.step('shell')!.log('stdio')!.lines).to.include.members(['ofeature']);
      expect((await gitLines(b.build.buildid)).some((l) => l.includes('clone --branch feature'))).to.equal(true);
    });

    it('updates submodules', async () => {
      const sub = await makeRepo(join(env.sshd.dir, `sub-${n}`), w.user.uid);
      await sub.commit('lib.txt', 'from the submodule\n', 'sub');
      // As root, git refuses the test user's repositories: own them while we set them up.
      await run('chown', ['-R', '0', sub.path, repo.path]);
      await run('git', ['-c', 'protocol.file.allow=always', '-C', repo.path, 'submodule', 'add', '-q', sub.path, 'lib']);
      await repo.commit('a.txt', 'a', 'with submodule');
      await run('chown', ['-R', String(w.user.uid), sub.path]);
      const config = w.config([
        new Git({ repourl: repo.path, submodules: true, config: { 'protocol.file.allow': 'always' } }),
        new ShellCommand({ command: 'cat lib/lib.txt' }),
      ]);
      const b1 = await w.build(config, stamp());
      let stored = await readBuild(w.db, b1.build.buildid);
      expect(b1.results, stored.dump()).to.equal(SUCCESS);
      expect(stored.step('shell')!.log('stdio')!.lines).to.include('ofrom the submodule');
      // Incremental again: sync + update --init --recursive --force --checkout.
      const b2 = await w.build(config, stamp());
      stored = await readBuild(w.db, b2.build.buildid);
      expect(b2.results, stored.dump()).to.equal(SUCCESS);
      expect((await gitLines(b2.build.buildid)).some((l) => l.includes('submodule update --init --recursive --force --checkout'))).to.equal(true);
    });

    it('with a codebase, got_revision is a dict; a codebase missing from the build fails the step', async () => {
      const head = await repo.commit('a.txt', 'a', 'a');
      const config = w.config([new Git({ repourl: repo.path, codebase: 'app' })]);
      const ok = await w.build(config, stamp({ codebase: 'app' }));
      const stored = await readBuild(w.db, ok.build.buildid);
      expect(ok.results, stored.dump()).to.equal(SUCCESS);
      expect(stored.properties.got_revision).to.deep.equal([{ app: head }, 'Git']);
      const missing = await w.build(config, stamp({ codebase: 'other' }));
      const s2 = await readBuild(w.db, missing.build.buildid);
      expect(missing.results).to.equal(FAILURE);
      expect(s2.step('git')!.state_string).to.equal('Codebase app not in build (failure)');
      expect(s2.step('git')!.log('log')!.lines).to.deep.equal(["No sourcestamp found in build for codebase 'app'"]);
    });

    it('clones over ssh with sshPrivateKey and sshKnownHosts, and removes the key afterwards', async () => {
      const head = await repo.commit('a.txt', 'over ssh\n', 'a');
      const key = await readFile(w.user.privateKeyPath, 'utf8');
      const [type, b64] = env.sshd.hostPublicKeyLine.split(' ');
      const config = w.config(
        [
          new Git({
            repourl: `ssh://${w.user.name}@127.0.0.1:${env.sshd.port}${repo.path}`,
            sshPrivateKey: new Secret('deploy_key'),
            sshKnownHosts: `[127.0.0.1]:${env.sshd.port} ${type} ${b64}\n`,
          }),
          new ShellCommand({ command: 'cat a.txt; ls -A ..' }),
        ],
        { secrets: { deploy_key: key } },
      );
      const b = await w.build(config, stamp());
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results, stored.dump()).to.equal(SUCCESS);
      expect(stored.properties.got_revision[0]).to.equal(head);
      const lines = stored.step('shell')!.log('stdio')!.lines;
      expect(lines, stored.dump()).to.include('oover ssh');
      expect(lines).to.not.include('o.build.buildbot');
      const keyLine = key.split('\n')[1];
      for (const s of stored.steps) for (const l of s.logs) for (const line of l.lines) expect(line).to.not.contain(keyLine);
    });

    it('a repository that does not exist fails the step and halts the build', async () => {
      const config = w.config([new Git({ repourl: join(env.sshd.dir, 'no-such-repo') }), new ShellCommand({ command: 'true' })]);
      const b = await w.build(config, stamp());
      const stored = await readBuild(w.db, b.build.buildid);
      expect(b.results).to.equal(FAILURE);
      expect(stored.steps.map((s) => s.name)).to.deep.equal(['worker_preparation', 'git']);
      expect(stored.step('git')!.state_string).to.equal('update (failure)');
      expect(stored.step('git')!.log('stdio')!.lines.some((l) => /^e.*(does not exist|not a git repository|Could not read)/i.test(l))).to.equal(true);
    });
  });
});
