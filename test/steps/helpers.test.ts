import { expect } from 'chai';
import { parseEnv } from '../../lib/process/workerPreparation.js';
import { listCommand } from '../../lib/steps/fsCommands.js';
import { displayEnv, effectiveArgv, interruptSignalOf, shellResults } from '../../lib/steps/remoteShell.js';
import { mergedEnv, renderedCommand } from '../../lib/steps/shellCommand.js';
import { commandToString, joinList } from '../../lib/steps/summaries.js';
import { STEP_DEFINITIONS, stepDefinition } from '../../lib/steps/registry.js';
import type { StepContext } from '../../lib/steps/types.js';
import { PosixPlatform, WindowsPlatform } from '../../lib/workers/platforms/index.js';
import { CANCELLED, FAILURE, RETRY, SUCCESS, WARNINGS } from '../../lib/process/results.js';

const posix = new PosixPlatform();

describe('steps: helpers', function () {
  it('commandToString and joinList word summaries as Buildbot', function () {
    expect(commandToString('make all')).to.equal("'make all'");
    expect(commandToString(['make', '-j4', 'all'])).to.equal("'make -j4 ...'");
    expect(commandToString(['a', ['b', ['c']]])).to.equal("'a b ...'");
    expect(commandToString([])).to.equal(undefined);
    expect(joinList(['compiling', 'now'])).to.equal('compiling now');
  });

  it('effectiveArgv and displayEnv show what the slave runs and sees', function () {
    expect(effectiveArgv({ platform: posix }, 'echo hi')).to.deep.equal(['/bin/sh', '-c', 'echo hi']);
    expect(effectiveArgv({ platform: new WindowsPlatform('cmd') }, 'dir')).to.deep.equal(['cmd.exe', '/c', 'dir']);
    expect(effectiveArgv({ platform: posix }, ['ls', '-l'])).to.deep.equal(['ls', '-l']);
    const env = displayEnv({ platform: posix, remoteEnv: { PATH: '/bin', GONE: 'x' } }, { PATH: ['/opt/bin', '${PATH}'], GONE: null, NEW: 'v' });
    expect(env).to.deep.equal({ PATH: '/opt/bin:/bin', NEW: 'v' });
  });

  it('mergedEnv layers builder ← worker ← step; renderedCommand flattens argv', function () {
    const ctx = { baseEnv: { A: 'builder', B: 'worker' } } as unknown as StepContext;
    expect(mergedEnv(ctx, { B: 'step', L: ['x', 'y'], N: 3 })).to.deep.equal({ A: 'builder', B: 'step', L: ['x', 'y'], N: '3' });
    expect(renderedCommand(['a', ['b', 'c'], 4])).to.deep.equal(['a', 'b', 'c', '4']);
    expect(renderedCommand('x')).to.equal('x');
    expect(() => renderedCommand([])).to.throw('empty');
  });

  it('maps how a command ended to a result', function () {
    const r = (ended: 'exit' | 'interrupted' | 'connectionLost' | 'timeout', rc = 0) => ({ ended, rc, message: '', elapsedS: 0 });
    expect(shellResults(r('exit', 0))).to.equal(SUCCESS);
    expect(shellResults(r('exit', 1))).to.equal(FAILURE);
    expect(shellResults(r('exit', 3), { 0: 0, 3: WARNINGS })).to.equal(WARNINGS);
    expect(shellResults(r('timeout', -1))).to.equal(FAILURE);
    expect(shellResults(r('interrupted', -1))).to.equal(CANCELLED);
    expect(shellResults(r('connectionLost', -1))).to.equal(RETRY);
    expect(interruptSignalOf('SIGTERM')).to.equal('TERM');
    expect(interruptSignalOf('int')).to.equal('INT');
    expect(() => interruptSignalOf('USR1')).to.throw('interruptSignal');
  });

  it('parses env output, multi-line values included', function () {
    expect(parseEnv('A=1\nMULTI=line one\nline two\nB=x=y\r\n')).to.deep.equal({ A: '1', MULTI: 'line one\nline two', B: 'x=y' });
  });

  it('has an implementation for every step kind and lists directories per shell', function () {
    for (const kind of Object.keys(STEP_DEFINITIONS)) expect(stepDefinition(kind).kind).to.equal(kind);
    expect(() => stepDefinition('Nope')).to.throw("unknown step kind 'Nope'");
    expect(listCommand(posix, '/a b')).to.deep.equal(['/bin/sh', '-c', 'test -d "$1" || exit 3; cd -- "$1" && ls -A', 'sh', '/a b']);
    expect(listCommand(new WindowsPlatform('cmd'), 'C:\\w')).to.equal('if not exist "C:\\w\\" (exit 3) else (dir /b /a "C:\\w")');
  });
});
