import { expect } from 'chai';
import type { ResolvedForceScheduler } from '../../lib/config/resolved.js';
import { ForceScheduler } from '../../lib/config/schedulers.js';
import * as util from '../../lib/config/util.js';
import { validateConfig } from '../../lib/config/validate.js';
import { ForceValidationError, prepareForce } from '../../lib/schedulers/forceScheduler.js';

/** A ForceScheduler resolved by the real config validator. */
function resolved(options: ConstructorParameters<typeof ForceScheduler>[0]): ResolvedForceScheduler {
  const builders = ['a', 'b', 'c'].map((name) => ({ name, workernames: ['w'], steps: [] }));
  const r = validateConfig(
    { workers: [{ name: 'w', host: 'h', basedir: '/b' }], builders, schedulers: [new ForceScheduler(options)] },
    '/tmp',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config.schedulers[0] as ResolvedForceScheduler;
}

function errorsOf(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ForceValidationError);
    return (err as ForceValidationError).errors;
  }
  throw new Error('expected a ForceValidationError');
}

describe('ForceScheduler.force (prepareForce)', function () {
  it('builds the properties, reason text and default stamp as Buildbot does', function () {
    const f = prepareForce(resolved({ name: 'force', builderNames: ['a', 'b'] }), { owner: 'alice <a@example.org>', reason: 'try it' });
    expect(f.builderNames).to.deep.equal(['a', 'b']);
    expect(f.reasonText).to.equal("A build was forced by 'alice <a@example.org>': try it");
    expect(f.properties).to.deep.equal({
      reason: ['try it', 'Force Build Form'],
      owner: ['alice <a@example.org>', 'Force Build Form'],
      scheduler: ['force', 'Scheduler'],
    });
    expect(f.sourcestamps).to.deep.equal([{ codebase: '', repository: '', branch: '', revision: '', project: '' }]);
  });

  it('defaults the reason and takes the owner from the username field when anonymous', function () {
    const sched = resolved({ name: 'force', builderNames: ['a'] });
    const f = prepareForce(sched, { owner: 'anonymous', fields: { username: 'Bob <bob@example.org>' } });
    expect(f.reason).to.equal('force build');
    expect(f.owner).to.equal('Bob <bob@example.org>');
    const errors = errorsOf(() => prepareForce(sched, { owner: 'anonymous', username: 'just bob' }));
    expect(errors).to.deep.equal({ username: "username: please fill in email address in the form 'User <email@email.com>'" });
  });

  it('intersects builderNames with the scheduler and refuses builders it does not have', function () {
    const sched = resolved({ name: 'force', builderNames: ['a', 'b'] });
    expect(prepareForce(sched, { builderNames: ['b', 'c', 'b'] }).builderNames).to.deep.equal(['b']);
    expect(prepareForce(sched, { builderid: 7 }, (id) => (id === 7 ? 'a' : undefined)).builderNames).to.deep.equal(['a']);
    expect(errorsOf(() => prepareForce(sched, { builderNames: ['c'] }))).to.have.key('builderNames');
    expect(errorsOf(() => prepareForce(sched, { builderid: 8 }, () => 'c'))).to.have.key('builderNames');
  });

  it('reads codebase fields by full name and lets given stamps override them', function () {
    const sched = resolved({
      name: 'force',
      builderNames: ['a'],
      codebases: [
        new util.CodebaseParameter({ codebase: 'app', branch: new util.StringParameter({ name: 'branch', default: 'main' }), project: 'fixed-project' }),
        'lib',
      ],
    });
    const f = prepareForce(sched, {
      fields: { app_revision: 'abc123', lib_branch: 'dev', project: 'ignored' },
      sourcestamps: [{ codebase: 'lib', revision: 'r9' }, { codebase: 'extra', branch: 'x' }],
    });
    expect(f.sourcestamps).to.deep.equal([
      { codebase: 'app', repository: '', branch: 'main', revision: 'abc123', project: 'fixed-project' },
      { codebase: 'lib', repository: '', branch: 'dev', revision: 'r9', project: '' },
      { codebase: 'extra', repository: '', branch: 'x', revision: null, project: '' },
    ]);
  });

  it('validates property fields and collects every problem', function () {
    const sched = resolved({
      name: 'force',
      builderNames: ['a'],
      reason: new util.StringParameter({ name: 'reason', required: true, label: 'Why' }),
      properties: [
        new util.IntParameter({ name: 'jobs', default: 2 }),
        new util.ChoiceStringParameter({ name: 'flavour', choices: ['debug', 'release'], default: 'debug' }),
        new util.BooleanParameter({ name: 'clean' }),
        new util.StringParameter({ name: 'tag', regex: '[a-z]+$' }),
      ],
    });
    const ok = prepareForce(sched, { reason: 'r', properties: { jobs: '8', flavour: 'release', clean: true, tag: 'v', extra: { x: 1 } } });
    expect(ok.properties).to.deep.include({
      jobs: [8, 'Force Build Form'],
      flavour: ['release', 'Force Build Form'],
      clean: [true, 'Force Build Form'],
      tag: ['v', 'Force Build Form'],
      extra: [{ x: 1 }, 'Force Build Form'],
    });
    // As in Buildbot, an absent value is its default, which the regex checks too ('' would fail it).
    const defaults = prepareForce(sched, { reason: 'r', properties: { tag: 'ok' } });
    expect(defaults.properties).to.deep.include({ jobs: [2, 'Force Build Form'], flavour: ['debug', 'Force Build Form'], clean: [false, 'Force Build Form'] });

    const errors = errorsOf(() => prepareForce(sched, { reason: '  ', properties: { jobs: 'many', flavour: 'fast', tag: 'UP' } }));
    expect(errors).to.deep.equal({
      reason: "'Why' needs to be specified",
      jobs: "invalid literal for int() with base 10: 'many'",
      flavour: `'fast' does not belong to list of available choices '["debug","release"]'`,
      tag: "tag:'UP' does not match pattern '[a-z]+$'",
    });
  });
});
