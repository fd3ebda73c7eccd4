import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { getChanges } from '../../lib/db/changes.js';
import { select } from '../../lib/db/query.js';
import { freePort, makeMasterDir, removeDir } from '../master/masterDir.js';
import { killMasterProcess, startMasterProcess, type MasterProcess } from '../master/masterProcess.js';

const run = promisify(execFile);
const GIT_HOOK = fileURLToPath(new URL('../../contrib/hooks/git-post-receive', import.meta.url));
const HG_HOOK = fileURLToPath(new URL('../../contrib/hooks/hg-changegroup', import.meta.url));

/** A message and a file name that need escaping in JSON: quotes, a backslash, a tab, several lines. */
const TRICKY_MESSAGE = 'Fix "quoted" thing\n\nbackslash \\ and\ttab; ünïcode';
const TRICKY_FILE = 'dir/we"ird \\ name.txt';

/**
 * contrib/hooks against a real master (`start --nodaemon`, base change hook with HTTP Basic auth on
 * 127.0.0.1): a real git push to a bare repository runs post-receive, a real hg push runs the
 * changegroup hook, and the changes are stored with their authors, messages, files and branches.
 */
describe('contrib hooks: git post-receive and hg changegroup post to a real master', function () {
  this.timeout(180_000);
  let dir: string;
  let port: number;
  let proc: MasterProcess | undefined;
  let db: Database;

  before(async () => {
    port = await freePort();
    dir = await makeMasterDir({ workers: [], builders: [] });
    await writeFile(
      join(dir, 'master.config.ts'),
      `import { defineConfig } from 'buildmaster';
export default defineConfig({
  db: { url: 'sqlite:///state.sqlite' },
  www: { host: '127.0.0.1', port: ${port}, changeHooks: { base: { auth: { username: 'hook', password: 'pw' } } } },
  workers: [],
  builders: [],
  schedulers: [],
});
`,
    );
    proc = await startMasterProcess(dir);
    db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
  });
  after(async () => {
    await db?.close();
    if (proc) await killMasterProcess(proc);
    await removeDir(dir);
  });

  async function changesOf(repository: string) {
    const ids = await select<{ changeid: number }>(db, 'SELECT changeid FROM changes WHERE repository = ? ORDER BY changeid', [repository]);
    return getChanges(db, ids.map((r) => r.changeid));
  }

  const env = { ...process.env, GIT_AUTHOR_NAME: 'Ada Dev', GIT_AUTHOR_EMAIL: 'ada@example.org', GIT_COMMITTER_NAME: 'Cy Commit', GIT_COMMITTER_EMAIL: 'cy@example.org', HGUSER: 'Hg User <hg@example.org>' };
  const git = (cwd: string, ...args: string[]) => run('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], { cwd, env });
  const hg = (cwd: string, ...args: string[]) => run('hg', ['--config', 'ui.username=Hg User <hg@example.org>', ...args], { cwd, env: { ...env, HGPLAIN: '1' } });

  it('git: a push of two commits, a new branch and a tag; each commit stored once, the tag ignored', async () => {
    const origin = join(dir, 'origin.git');
    await git(dir, 'init', '--bare', origin);
    await copyFile(GIT_HOOK, join(origin, 'hooks', 'post-receive'));
    await chmod(join(origin, 'hooks', 'post-receive'), 0o755);
    await git(origin, 'config', 'buildmaster.url', `http://127.0.0.1:${port}/`);
    await git(origin, 'config', 'buildmaster.auth', 'hook:pw');
    await git(origin, 'config', 'buildmaster.project', 'app');

    const work = join(dir, 'work');
    await git(dir, 'clone', origin, work);
    await mkdir(join(work, 'dir'));
    await writeFile(join(work, 'a.txt'), 'a\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '-q', '-m', 'first');
    await writeFile(join(work, TRICKY_FILE), 'x\n');
    await writeFile(join(work, 'a.txt'), 'b\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '-q', '-m', TRICKY_MESSAGE);
    const pushed = await git(work, 'push', '-q', 'origin', 'main');
    expect(pushed.stderr).to.not.contain('buildmaster:');

    const revs = (await git(work, 'rev-list', '--reverse', 'main')).stdout.trim().split('\n');
    let changes = await changesOf(origin);
    expect(changes.map((c) => [c.revision, c.branch, c.author, c.committer, c.project])).to.deep.equal([
      [revs[0], 'main', 'Ada Dev <ada@example.org>', 'Cy Commit <cy@example.org>', 'app'],
      [revs[1], 'main', 'Ada Dev <ada@example.org>', 'Cy Commit <cy@example.org>', 'app'],
    ]);
    expect(changes[1]!.comments).to.equal(TRICKY_MESSAGE);
    expect(changes[1]!.files.sort()).to.deep.equal(['a.txt', TRICKY_FILE].sort());
    expect(changes[0]!.files).to.deep.equal(['a.txt']);
    expect(changes[0]!.when_timestamp).to.be.a('number').and.above(1_600_000_000);

    await git(work, 'checkout', '-q', '-b', 'feature/x');
    await writeFile(join(work, 'f.txt'), 'f\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '-q', '-m', 'feature work');
    await git(work, 'tag', 'v1');
    await git(work, 'push', '-q', 'origin', 'feature/x', 'v1');
    changes = await changesOf(origin);
    expect(changes).to.have.length(3);
    expect(changes[2]).to.include({ branch: 'feature/x', comments: 'feature work', revision: (await git(work, 'rev-parse', 'HEAD')).stdout.trim() });
  });

  it('hg: a push of changesets on two branches; each stored once with its branch', async () => {
    const origin = join(dir, 'origin-hg');
    await hg(dir, 'init', origin);
    await writeFile(
      join(origin, '.hg', 'hgrc'),
      `[hooks]\nchangegroup.buildmaster = ${HG_HOOK}\n\n[buildmaster]\nurl = http://127.0.0.1:${port}\nauth = hook:pw\nrepository = https://hg.example.org/app\n`,
    );
    const work = join(dir, 'work-hg');
    await hg(dir, 'clone', '-q', origin, work);
    await writeFile(join(work, 'a.txt'), 'a\n');
    await hg(work, 'add', 'a.txt');
    await hg(work, 'commit', '-m', 'first');
    await writeFile(join(work, 'a.txt'), 'b\n');
    await hg(work, 'commit', '-m', TRICKY_MESSAGE);
    await hg(work, 'branch', '-q', 'stable');
    await writeFile(join(work, 's.txt'), 's\n');
    await hg(work, 'add', 's.txt');
    await hg(work, 'commit', '-m', 'on stable');
    const pushed = await hg(work, 'push', '-q', '--new-branch');
    expect(pushed.stdout + pushed.stderr).to.not.contain('buildmaster:');

    const nodes = (await hg(work, 'log', '-r', '0:', '--template', '{node}\\n')).stdout.trim().split('\n');
    const changes = await changesOf('https://hg.example.org/app');
    expect(changes.map((c) => [c.revision, c.branch, c.author])).to.deep.equal([
      [nodes[0], 'default', 'Hg User <hg@example.org>'],
      [nodes[1], 'default', 'Hg User <hg@example.org>'],
      [nodes[2], 'stable', 'Hg User <hg@example.org>'],
    ]);
    expect(changes[1]!.comments).to.equal(TRICKY_MESSAGE);
    expect(changes[1]!.files).to.deep.equal(['a.txt']);
    expect(changes[2]!.files).to.deep.equal(['s.txt']);
    // Two branches: two pushes.
    const pushes = await select<{ branch: string }>(db, 'SELECT branch FROM pushes WHERE repository = ? ORDER BY id', ['https://hg.example.org/app']);
    expect(pushes.map((p) => p.branch)).to.deep.equal(['default', 'stable']);
  });

  it('a refused call (wrong credentials) is reported to the pusher and does not fail the push', async () => {
    const origin = join(dir, 'refused.git');
    await git(dir, 'init', '--bare', origin);
    await copyFile(GIT_HOOK, join(origin, 'hooks', 'post-receive'));
    await git(origin, 'config', 'buildmaster.url', `http://127.0.0.1:${port}`);
    await git(origin, 'config', 'buildmaster.auth', 'hook:wrong');
    const work = join(dir, 'work-refused');
    await git(dir, 'clone', origin, work);
    await writeFile(join(work, 'a.txt'), 'a\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '-q', '-m', 'x');
    const pushed = await git(work, 'push', 'origin', 'main');
    expect(pushed.stderr).to.contain('buildmaster: the master refused the push of main (HTTP 401)');
    expect(await changesOf(origin)).to.deep.equal([]);
  });
});
