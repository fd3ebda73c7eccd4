import { expect } from 'chai';
import { Compile, ShellCommand, Test, Trigger } from '../../lib/config/steps.js';
import { Triggerable } from '../../lib/config/schedulers.js';
import { FAILURE, SUCCESS, WARNINGS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { makeWorld, readBuild, type BuildWorld, useSshdPerSuite } from '../process/buildHarness.js';

describe('steps: ShellCommand, Compile, Test, Trigger (real sshd)', function () {
  this.timeout(60_000);
  const env = useSshdPerSuite();

  forEachDialect('shell steps', (h) => {
    let w: BuildWorld;
    beforeEach(async () => {
      w = await makeWorld(h, env.sshd, env.ssh);
    });

    it('Compile counts warnings into warnings-count and a warnings log; the step warns', async () => {
      const script = [
        'echo "make[1]: Entering directory \'/src/warning: not counted\'"',
        'echo "a.c:1: warning: unused variable"',
        'echo "make[1]: Leaving directory \'/src\'"',
        'echo "b.c:2: Warning: shadowed" >&2',
        'echo "no warnings here"',
      ].join('; ');
      const config = w.config([new Compile({ command: script }), new Compile({ command: 'echo "c.c: warning: more"', warnOnWarnings: true })]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      // As Buildbot: WARNINGS steps spoil the build only with warnOnWarnings (the second one has it).
      expect(results, stored.dump()).to.equal(WARNINGS);
      expect(stored.properties['warnings-count']).to.deep.equal([3, 'WarningCountingShellCommand']);
      expect(stored.step('compile')!.log('warnings (2)')!.lines).to.deep.equal(['a.c:1: warning: unused variable', 'b.c:2: Warning: shadowed']);
      expect(stored.step('compile')!.state_string).to.equal('compile (warnings)');
      expect(stored.step('compile')!.results).to.equal(WARNINGS);
      expect(stored.build.state_string).to.equal('warnings compile (warnings)');
    });

    it('Test reads the runner summary into tests-* properties and its summary', async () => {
      const config = w.config([
        new Test({ command: 'echo "============ 2 failed, 10 passed, 1 warning in 0.52s ============"; exit 1' }),
        new Test({ name: 'mocha', command: 'printf "  4 passing (20ms)\\n  1 failing\\n"' }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(FAILURE);
      expect(stored.build.state_string).to.equal('failed 13 tests 10 passed 1 warnings 2 failed (failure)');
      expect(stored.step('test')!.state_string).to.equal('13 tests 10 passed 1 warnings 2 failed (failure)');
      expect(stored.step('mocha')!.state_string).to.equal('5 tests 4 passed 1 failed');
      expect(stored.properties['tests-total']).to.deep.equal([18, 'Test']);
      expect(stored.properties['tests-passed']).to.deep.equal([14, 'Test']);
      expect(stored.properties['tests-failed']).to.deep.equal([3, 'Test']);
      expect(stored.properties['tests-warnings']).to.deep.equal([1, 'Test']);
    });

    it('ShellCommand: argv without a shell, env from builder, worker and step, workdir, initialStdin, logfiles', async () => {
      const config = w.config(
        [
          new ShellCommand({ command: ['printf', '%s|', 'a b', "it's", '$HOME'], logEnviron: false }),
          new ShellCommand({
            name: 'env',
            command: 'echo "$B/$W/$S/$LIST"; pwd',
            env: { S: 'step', W: 'step-wins', LIST: ['x', 'y'] },
            workdir: 'elsewhere',
          }),
          new ShellCommand({ name: 'stdin', command: 'cat', initialStdin: 'fed in\n' }),
          new ShellCommand({ name: 'logfile', command: 'echo from-file > out.txt', logfiles: { out: 'out.txt' } }),
        ],
        { builder: { env: { B: 'builder', W: 'builder' } }, worker: { env: { W: 'worker' } } },
      );
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(SUCCESS);
      expect(stored.step('shell')!.log('stdio')!.lines).to.include.members(["hprintf '%s|' 'a b' 'it'\\''s' '$HOME'", "oa b|it's|$HOME|"]);
      const env = stored.step('env')!.log('stdio')!.lines;
      expect(env).to.include.members(['obuilder/step-wins/step/x:y', `o${w.workerBasedir}/b1/elsewhere`, 'h  W=step-wins', 'h  B=builder']);
      expect(stored.step('stdin')!.log('stdio')!.lines).to.include.members(['h writing 7 bytes to stdin', 'ofed in']);
      expect(stored.step('logfile')!.log('out')!.lines).to.deep.equal(['ofrom-file']);
    });
  });
});
