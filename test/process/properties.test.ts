import { expect } from 'chai';
import {
  assembleBuildProperties,
  decodePropertyPair,
  decodePropertyValue,
  encodePropertyPair,
  encodePropertyValue,
  Properties,
  pythonJsonDumps,
} from '../../lib/process/properties.js';

describe('Properties', function () {
  it('stores (value, source) pairs; a later set wins', function () {
    const p = new Properties();
    p.setProperty('branch', 'main', 'Scheduler');
    p.setProperty('branch', 'dev', 'Build');
    p.setProperty('empty', null, 'Build');
    expect(p.getProperty('branch')).to.equal('dev');
    expect(p.getPropertySource('branch')).to.equal('Build');
    expect(p.hasProperty('empty')).to.equal(true);
    expect(p.getProperty('empty', 'dflt')).to.equal(null);
    expect(p.getProperty('missing', 'dflt')).to.equal('dflt');
    expect(p.asDict()).to.deep.equal({ branch: ['dev', 'Build'], empty: [null, 'Build'] });
    expect(p.asValues()).to.deep.equal({ branch: 'dev', empty: null });
    expect(p.asList()).to.deep.equal([
      ['branch', 'dev', 'Build'],
      ['empty', null, 'Build'],
    ]);
  });

  it('refuses values that cannot be stored as JSON', function () {
    const p = new Properties();
    expect(() => p.setProperty('f', () => 1, 'x')).to.throw(/'f' must be JSON-serialisable/);
    expect(() => p.setProperty('u', undefined, 'x')).to.throw(/JSON/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => p.setProperty('c', cyclic, 'x')).to.throw(/JSON/);
  });

  it('round-trips through fromDict/asDict and skips runtime properties for a rebuild', function () {
    const p = Properties.fromDict({ a: [1, 'Scheduler'], b: [[1, 2], 'Build'] });
    p.setProperty('got_revision', 'abc', 'Git', { runtime: true });
    expect(Properties.fromDict(p.asDict()).asDict()).to.deep.equal(p.asDict());
    const rebuilt = new Properties();
    rebuilt.updateFromPropertiesNoRuntime(p);
    expect(rebuilt.asDict()).to.deep.equal({ a: [1, 'Scheduler'], b: [[1, 2], 'Build'] });
    expect(p.clone().isRuntime('got_revision')).to.equal(true);
  });

  it('writes JSON exactly as Python json.dumps does', function () {
    expect(pythonJsonDumps([{ a: 1, b: [true, null] }, 'Builder'])).to.equal('[{"a": 1, "b": [true, null]}, "Builder"]');
    expect(pythonJsonDumps('héllo 😀 "q"\n')).to.equal('"h\\u00e9llo \\ud83d\\ude00 \\"q\\"\\n"');
    expect(pythonJsonDumps(1.5)).to.equal('1.5');
    expect(encodePropertyValue('main')).to.equal('"main"');
    expect(encodePropertyPair('main', 'Scheduler')).to.equal('["main", "Scheduler"]');
  });

  it('reads build_properties values and [value, source] pairs', function () {
    expect(decodePropertyValue('{"a": [1, 2]}')).to.deep.equal({ a: [1, 2] });
    expect(decodePropertyPair('["v", "Force Build Form"]')).to.deep.equal(['v', 'Force Build Form']);
    // Not a pair: Buildbot's change reader takes it as a bare value from the Change.
    expect(decodePropertyPair('"bare"')).to.deep.equal(['bare', 'Change']);
    expect(decodePropertyPair('[1, 2, 3]')).to.deep.equal([[1, 2, 3], 'Change']);
  });

  it("assembles a build's properties in Buildbot's precedence order", function () {
    const change = Properties.fromDict({ owner: ['alice', 'Change'], level: ['change', 'Change'] });
    const request = Properties.fromDict({ level: ['request', 'Scheduler'], reason: ['nightly', 'Scheduler'] });
    const props = assembleBuildProperties({
      global: { values: { level: 'global', project_url: 'https://x' }, source: 'master.config.ts' },
      changes: [change],
      requests: [request],
      builder: { name: 'linux', properties: { level: 'builder' }, defaultProperties: { reason: 'dflt', cores: 2 } },
      worker: { name: 'w1', properties: { level: 'worker', workername: 'spoof' }, defaultProperties: { cores: 8, os: 'linux' } },
      buildnumber: 7,
      sourcestamps: [{ codebase: '', branch: 'main', revision: 'abc', repository: 'https://r', project: 'p' }],
      builddir: '/work/linux',
    });
    expect(props.asDict()).to.deep.equal({
      level: ['worker', 'Worker'],
      project_url: ['https://x', 'master.config.ts'],
      owner: ['alice', 'Change'],
      reason: ['nightly', 'Scheduler'],
      buildername: ['linux', 'Builder'],
      cores: [2, 'Builder'],
      workername: ['w1', 'Worker'],
      os: ['linux', 'Worker'],
      buildnumber: [7, 'Build'],
      branch: ['main', 'Build'],
      revision: ['abc', 'Build'],
      repository: ['https://r', 'Build'],
      codebase: ['', 'Build'],
      project: ['p', 'Build'],
      builddir: ['/work/linux', 'Worker'],
    });
    const two = assembleBuildProperties({ sourcestamps: [{ codebase: 'a' }, { codebase: 'b' }], buildnumber: 1 });
    expect(two.hasProperty('branch')).to.equal(false);
  });
});
