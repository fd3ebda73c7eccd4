import { expect } from 'chai';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DirectoryUpload, FileDownload, FileUpload, ShellCommand } from '../../lib/config/steps.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { makeWorld, readBuild, type BuildWorld, useSshdPerSuite } from '../process/buildHarness.js';

describe('steps: FileUpload, FileDownload, DirectoryUpload (real sshd, SFTP)', function () {
  this.timeout(60_000);
  const env = useSshdPerSuite();

  forEachDialect('transfers', (h) => {
    let w: BuildWorld;
    beforeEach(async () => {
      w = await makeWorld(h, env.sshd, env.ssh);
    });

    it('round trip: master → slave → transformed → master, with mode, url and logs', async () => {
      await writeFile(join(w.masterBasedir, 'input.txt'), 'hello transfer\n'.repeat(1000));
      const config = w.config([
        new FileDownload({ mastersrc: 'input.txt', workerdest: 'in/input.txt', mode: 0o640 }),
        new ShellCommand({ command: 'stat -c %a in/input.txt; tr a-z A-Z < in/input.txt > out.txt' }),
        new FileUpload({ workersrc: 'out.txt', masterdest: 'artifacts/OUT.txt', mode: 0o600, url: 'http://example/OUT.txt' }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(SUCCESS);
      expect(await readFile(join(w.masterBasedir, 'artifacts/OUT.txt'), 'utf8')).to.equal('HELLO TRANSFER\n'.repeat(1000));
      expect((await stat(join(w.masterBasedir, 'artifacts/OUT.txt'))).mode & 0o777).to.equal(0o600);
      expect(stored.step('shell')!.log('stdio')!.lines).to.include('o640');
      expect(stored.step('download')!.state_string).to.equal('downloading to input.txt');
      expect(stored.step('upload')!.state_string).to.equal('uploading out.txt');
      expect(stored.step('download')!.log('stdio')!.lines.at(-1)).to.equal('hdownloaded 15000 bytes');
      expect(stored.step('upload')!.log('stdio')!.lines.at(-1)).to.equal('huploaded 15000 bytes');
      expect(JSON.parse(stored.step('upload')!.urls_json)).to.deep.equal([{ name: 'OUT.txt', url: 'http://example/OUT.txt' }]);
    });

    it('DirectoryUpload copies a tree; maxsize and missing files fail the step', async () => {
      const config = w.config([
        new ShellCommand({ command: 'mkdir -p tree/sub && echo one > tree/a.txt && echo two > tree/sub/b.txt && chmod 755 tree/a.txt' }),
        new DirectoryUpload({ workersrc: 'tree', masterdest: 'copied' }),
        new DirectoryUpload({ name: 'too-big', workersrc: 'tree', masterdest: 'not-there', maxsize: 3, haltOnFailure: false }),
        new FileUpload({ name: 'missing', workersrc: 'no-such-file', masterdest: 'x.txt', haltOnFailure: false }),
        new FileUpload({ name: 'big-file', workersrc: 'tree/a.txt', masterdest: 'y.txt', maxsize: 1, haltOnFailure: false }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(FAILURE);
      expect(await readFile(join(w.masterBasedir, 'copied/a.txt'), 'utf8')).to.equal('one\n');
      expect(await readFile(join(w.masterBasedir, 'copied/sub/b.txt'), 'utf8')).to.equal('two\n');
      expect((await stat(join(w.masterBasedir, 'copied/a.txt'))).mode & 0o777).to.equal(0o755);
      expect(stored.step('upload')!.log('stdio')!.lines.at(-1)).to.equal('huploaded 2 files, 8 bytes');
      expect(stored.step('too-big')!.results).to.equal(FAILURE);
      expect(stored.step('too-big')!.log('stdio')!.lines.at(-1)).to.match(/^hMaximum size reached/);
      expect(await stat(join(w.masterBasedir, 'not-there')).catch(() => undefined)).to.equal(undefined);
      expect(stored.step('missing')!.log('stdio')!.lines.at(-1)).to.match(/^hCannot open file '.*no-such-file' for upload: no such file/);
      expect(stored.step('big-file')!.log('stdio')!.lines.at(-1)).to.match(/^hMaximum filesize reached/);
      expect(await stat(join(w.masterBasedir, 'y.txt')).catch(() => undefined)).to.equal(undefined);
    });

    it('FileDownload of a missing master file fails; an absolute masterdest is used as is', async () => {
      const dest = join(w.masterBasedir, 'abs', 'file.txt');
      await mkdir(join(w.masterBasedir, 'abs'));
      const config = w.config([
        new FileDownload({ mastersrc: 'nope.txt', workerdest: 'x', haltOnFailure: false }),
        new ShellCommand({ command: 'echo abs > a.txt' }),
        new FileUpload({ workersrc: 'a.txt', masterdest: dest }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(FAILURE);
      expect(stored.step('download')!.log('stdio')!.lines.at(-1)).to.match(/^hCannot open file '.*nope.txt' for download: no such file/);
      expect(await readFile(dest, 'utf8')).to.equal('abs\n');
    });
  });
});
