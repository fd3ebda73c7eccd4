import { expect } from 'chai';
import type { ResolvedBuilder, WorkerConfig } from '../../lib/config/resolved.js';
import { buildProperties, workerBuilddir } from '../../lib/process/buildProperties.js';
import { Properties } from '../../lib/process/properties.js';
import { PosixPlatform, WindowsPlatform } from '../../lib/workers/platforms/index.js';

describe('process/buildProperties', function () {
  it('puts the builder directory under the worker basedir by the platform rules', function () {
    const b = { name: 'my builder', builddir: 'my_builder', workerbuilddir: 'wbd' };
    expect(workerBuilddir(new PosixPlatform(), { basedir: '/home/bb/w' }, b)).to.equal('/home/bb/w/wbd');
    expect(workerBuilddir(new PosixPlatform(), { basedir: '/home/bb/w' }, { ...b, workerbuilddir: '' })).to.equal('/home/bb/w/my_builder');
    expect(workerBuilddir(new WindowsPlatform('cmd'), { basedir: 'C:\\bb' }, b)).to.equal('C:\\bb\\wbd');
    expect(workerBuilddir(new PosixPlatform(), { basedir: '/w' }, { ...b, workerbuilddir: '/abs/dir' })).to.equal('/abs/dir');
  });

  it('applies Buildbot precedence: global < buildset < builder < worker < build < builddir', function () {
    const builder = { name: 'b1', properties: { p: 'builder', b: 1 }, defaultProperties: { d: 'default', p: 'ignored' } } as unknown as ResolvedBuilder;
    const worker = { name: 'w1', properties: { p: 'worker', workername: 'spoof' } } as unknown as WorkerConfig;
    const props = buildProperties({
      config: { properties: { p: 'global', g: true, buildnumber: 99 } },
      builder,
      worker,
      buildnumber: 7,
      inputs: {
        requestProperties: [Properties.fromDict({ p: ['set', 'Force'], s: ['x', 'Force'] })],
        sourcestamps: [{ codebase: '', branch: 'main', revision: 'abc', repository: 'r', project: 'pr' }],
      },
      builddir: '/w/b1',
    });
    expect(props.asDict()).to.deep.equal({
      p: ['worker', 'Worker'],
      g: [true, 'master.config.ts'],
      s: ['x', 'Force'],
      b: [1, 'Builder'],
      d: ['default', 'Builder'],
      buildername: ['b1', 'Builder'],
      workername: ['w1', 'Worker'],
      buildnumber: [7, 'Build'],
      branch: ['main', 'Build'],
      revision: ['abc', 'Build'],
      repository: ['r', 'Build'],
      codebase: ['', 'Build'],
      project: ['pr', 'Build'],
      builddir: ['/w/b1', 'Worker'],
    });
  });
});
