import { expect } from 'chai';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMaster } from '../../lib/cli/createMaster.js';
import { Output } from '../../lib/cli/output.js';
import { hookUrl, sendchangeFields } from '../../lib/cli/sendchange.js';
import { lastPushes } from '../../lib/db/pushes.js';
import { Master } from '../../lib/master/master.js';
import { runCli } from '../support/cli.js';
import { freePort, removeDir } from '../master/masterDir.js';

describe('buildmaster sendchange', function () {
  this.timeout(60_000);
  let dir: string | undefined;
  let master: Master | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bm-sendchange-'));
    await createMaster(dir, { quiet: true }, new Output(() => {}, () => {}));
    await writeFile(
      join(dir, 'master.config.ts'),
      `import { defineConfig } from 'buildmaster';
export default defineConfig({ www: { port: 0, changeHooks: { base: { auth: { username: 'change', password: 'changepw' } } } } });
`,
    );
    master = await Master.start({ basedir: dir, www: true });
  });
  after(async () => {
    await master?.stop();
    await removeDir(dir);
  });

  it('posts Buildbot\'s sendchange options to the base hook: one change, one push', async () => {
    const r = await runCli(
      'sendchange', '--master', `127.0.0.1:${master!.www!.port}`, '--auth', 'change:changepw',
      '-W', 'Ann <ann@example.org>', '-R', 'git://example.org/repo.git', '-P', 'proj', '-b', 'trunk', '-C', 'fix',
      '-r', 'abc123', '-p', 'ticket:42', '-p', 'url:http://x/y', '-c', 'fix it', '-w', '1700000000', '-l', 'http://x/abc123', '-s', 'git',
      'src/a.c', 'doc/b.md',
    );
    expect(r).to.deep.equal({ code: 0, stdout: 'change sent successfully (1 change found)\n', stderr: '' });
    const [p] = await lastPushes(master!.db, { repository: 'git://example.org/repo.git', branch: 'trunk', limit: 1 });
    expect(p!.push).to.include({ author: 'Ann <ann@example.org>', source: 'base' });
    expect(p!.changes).to.have.length(1);
    expect(p!.changes[0]).to.include({ author: 'Ann <ann@example.org>', revision: 'abc123', comments: 'fix it', category: 'fix', project: 'proj', when_timestamp: 1_700_000_000, revlink: 'http://x/abc123' });
    expect(p!.changes[0]!.files).to.deep.equal(['src/a.c', 'doc/b.md']);
    expect(p!.changes[0]!.properties).to.deep.equal({ ticket: ['42', 'Change'], url: ['http://x/y', 'Change'] });
  });

  it('says why a change was not sent: bad credentials, no master, no author', async () => {
    const wrong = await runCli('sendchange', '-m', `127.0.0.1:${master!.www!.port}`, '-a', 'change:nope', '--who', 'x', 'f');
    expect(wrong).to.deep.equal({ code: 1, stdout: '', stderr: 'buildmaster: change not sent: 401 Unauthorized: invalid username or password\n' });
    const port = await freePort();
    const down = await runCli('sendchange', '-m', `127.0.0.1:${port}`, '--who', 'x');
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/^buildmaster: change not sent: cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    const noWho = await runCli('sendchange', '-m', `127.0.0.1:${port}`, 'f');
    expect(noWho).to.deep.equal({ code: 1, stdout: '', stderr: 'buildmaster: --who (or --author) is required: the author of the change\n' });
    const noMaster = await runCli('sendchange', '--who', 'x');
    expect(noMaster.code).to.equal(1);
    expect(noMaster.stderr).to.match(/--master host:port is required/);
  });

  it('builds the hook URL and the form fields as Buildbot names them', async () => {
    expect(hookUrl('localhost:8010').href).to.equal('http://localhost:8010/change_hook/base');
    expect(hookUrl('https://ci.example.org/bb/').href).to.equal('https://ci.example.org/bb/change_hook/base');
    expect(() => hookUrl('localhost')).to.throw(/expected host:port/);
    const form = await sendchangeFields([], { author: 'A', when: '12.5', codebase: 'cb' });
    expect(Object.fromEntries(form)).to.deep.equal({ author: 'A', when_timestamp: '12.5', codebase: 'cb', files: '[]' });
  });
});
