/**
 * The demo's story (lib/demo/demoStory.ts) with this machine's /bin/sh and git, without a master:
 * each step is one commit; the release is green and puts the project back to its first state; the
 * step that breaks the build fails it with its recognisable error line; the flaky test reports in
 * TAP and its failure line is the one the failures page groups; the last step is green again.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BASELINE, ensureDemoRepo, git } from '../../lib/demo/demoProject.js';
import { commitStep, nextVersion, STORY } from '../../lib/demo/demoStory.js';
import { useTempDir } from '../support/tmp.js';

const execFileP = promisify(execFile);

/** build.sh then run-tests.sh in a fresh copy of the repository, as demo-test does. */
async function buildAndTest(repo: string, into: string): Promise<{ ok: boolean; output: string }> {
  await execFileP('git', ['clone', '-q', repo, into]);
  try {
    const build = await execFileP('sh', ['-c', 'sh build.sh 2>&1'], { cwd: into });
    const tests = await execFileP('sh', ['-c', 'sh run-tests.sh 2>&1'], { cwd: into });
    return { ok: true, output: build.stdout + tests.stdout };
  } catch (err) {
    return { ok: false, output: String((err as { stdout?: string }).stdout) };
  }
}

describe('demo story', function () {
  this.timeout(60_000);
  const tmp = useTempDir('bm-demo-story-');

  it('nextVersion bumps the last number', () => {
    expect(nextVersion('1.9')).to.equal('1.10');
    expect(nextVersion('2.0.3')).to.equal('2.0.4');
    expect(nextVersion('weird')).to.equal('weird.1');
  });

  it('plays one round and the start of the next: green release, broken build, flaky test, green again', async () => {
    const repo = join(tmp(), 'repo');
    const created = await ensureDemoRepo(repo);
    expect(created.created).to.equal(true);
    const broken = STORY.findIndex((s) => s.expect.startsWith('breaks the build'));
    const flaky = STORY.findIndex((s) => s.files['tests/test_speed.sh'] !== undefined);
    expect(broken).to.be.greaterThan(0);
    expect(flaky).to.be.greaterThan(0);

    for (let i = 0; i <= STORY.length; i++) {
      const { revision, message } = await commitStep(repo, i);
      expect(await git(repo, ['rev-parse', 'HEAD'])).to.equal(revision);
      expect(await git(repo, ['log', '-1', '--format=%s|%an <%ae>'])).to.equal(`${message}|${STORY[i % STORY.length]!.author}`);
      expect(await git(repo, ['status', '--porcelain']), 'every step is committed whole').to.equal('');
      const step = i % STORY.length;
      const result = await buildAndTest(repo, join(tmp(), `build-${i}`));
      if (step === 0) {
        expect(result, `release ${i}`).to.include({ ok: true });
        expect(result.output).to.match(/^TAP version 13$/m);
        expect(result.output).to.match(/^ok \d+ - test_default$/m);
        expect(result.output).to.include('# 4 passed, 0 failed');
        expect(message).to.equal(`release greet ${i === 0 ? '1.1' : '1.2'} (the demo's story starts over here)`);
        // Back to the first state, bar the version.
        const files = (await git(repo, ['ls-files'])).split('\n').sort();
        expect(files).to.deep.equal(Object.keys(BASELINE).sort());
        expect(await readFile(join(repo, 'src/greet.sh'), 'utf8')).to.equal(BASELINE['src/greet.sh']);
      } else if (step === broken) {
        expect(result.ok).to.equal(false);
        expect(result.output).to.match(/^error: src\/greet\.sh does not parse: .*/m);
      } else if (step === STORY.length - 1) {
        expect(result, 'the last step: the flaky test made reliable').to.include({ ok: true });
        expect(result.output).to.match(/^ok \d+ - test_speed$/m);
      } else if (!result.ok) {
        // Only the flaky test may fail, with its own line.
        expect(result.output).to.match(/^error: test_speed: greet answered in \d+ ms, over the 1000 ms limit$/m);
        expect(result.output).to.match(/^not ok \d+ - test_speed$/m);
        expect(result.output.match(/^not ok/gm)).to.have.length(1);
      }
    }
  });
});
