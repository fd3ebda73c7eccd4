import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DB_URL, defaultWorkerUser } from '../../lib/config/defaults.js';
import { loadConfig } from '../../lib/config/loader.js';
import type { ResolvedConfig } from '../../lib/config/resolved.js';
import { sampleConfig } from '../../lib/config/sample.js';
import { summarizeConfig } from '../../lib/config/summary.js';
import { validateConfig } from '../../lib/config/validate.js';
import { changes, schedulers, steps, util } from '../../lib/index.js';
import { useTempDir } from '../support/tmp.js';

function resolve(config: unknown, basedir = '/srv/master'): ResolvedConfig {
  const r = validateConfig(config, basedir);
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.config;
}

const COMMON_STEP_DEFAULTS = {
  haltOnFailure: false,
  flunkOnFailure: true,
  warnOnFailure: false,
  warnOnWarnings: false,
  flunkOnWarnings: false,
  alwaysRun: false,
  doStepIf: true,
  hideStepIf: false,
  locks: [],
};

const SHELL_DEFAULTS = {
  env: {},
  timeout: 1200,
  maxTime: null,
  decodeRC: { 0: 0 },
  logEnviron: true,
  interruptSignal: 'KILL',
  want_stdout: true,
  want_stderr: true,
  logfiles: {},
  lazylogfiles: false,
};

describe('config defaults', () => {
  it('applies the top-level defaults to an empty config', () => {
    expect(resolve({})).to.deep.equal({
      basedir: '/srv/master',
      title: 'Buildbot',
      titleURL: 'http://buildbot.net',
      buildbotURL: 'http://127.0.0.1:8010/',
      db: { url: DEFAULT_DB_URL },
      www: { host: '127.0.0.1', port: 8010, users: [] },
      workers: [],
      builders: [],
      schedulers: [],
      changeSources: [],
      collapseRequests: true,
      properties: {},
      janitor: {},
      secrets: { values: {} },
      history: {
        maxErrorLines: 100,
        knownIssues: [],
        regression: { backWindow: 12, forwardWindow: 12, tThreshold: 7, minChangePercent: 2 },
        intermittent: { window: 20, minRuns: 5, maxFailRate: 0.9, minRecoveries: 2 },
      },
      multiMaster: { heartbeatInterval: 10, deadMasterTimeout: 60 },
      shutdown: { buildBound: 30 },
      logLevel: 'info',
    });
    expect(DEFAULT_DB_URL).to.equal('sqlite:///state.sqlite');
  });

  it('parses durations and derives buildbotURL from www', () => {
    const c = resolve({
      www: { host: '::1', port: 9000 },
      janitor: { logHorizon: '30d', buildDataHorizon: '1w', changeHorizon: 500, buildHorizon: '12h', testResultHorizon: '1h30m' },
      multiMaster: { heartbeatInterval: '5s', deadMasterTimeout: '2m' },
    });
    expect(c.buildbotURL).to.equal('http://[::1]:9000/');
    expect(c.janitor).to.deep.equal({ logHorizon: 2592000, buildDataHorizon: 604800, changeHorizon: 500, buildHorizon: 43200, testResultHorizon: 5400 });
    expect(c.multiMaster).to.deep.equal({ heartbeatInterval: 5, deadMasterTimeout: 120 });
  });

  it('fills in worker defaults, by platform', () => {
    const c = resolve({
      workers: [
        { name: 'lnx', host: 'h1', basedir: '/srv/bb' },
        { name: 'win', host: 'h2', basedir: 'C:\\bb', platform: 'windows', privateKeyFile: 'keys/id', connectTimeout: '1m' },
      ],
    });
    expect(c.workers[0]).to.deep.equal({
      name: 'lnx',
      host: 'h1',
      port: 22,
      user: defaultWorkerUser(),
      platform: 'posix',
      shell: 'sh',
      basedir: '/srv/bb',
      maxBuilds: 1,
      env: {},
      properties: {},
      keepaliveInterval: 15,
      connectTimeout: 20,
      maxSessions: 10,
    });
    expect(c.workers[1]).to.include({ shell: 'cmd', platform: 'windows', privateKeyFile: '/srv/master/keys/id', connectTimeout: 60 });
  });

  it('fills in builder and step defaults with Buildbot names', () => {
    const c = resolve({
      workers: [{ name: 'w', host: 'h', basedir: '/b' }],
      builders: [
        {
          name: 'linux gcc/12',
          workernames: 'w',
          steps: [
            new steps.ShellCommand({ command: 'make', description: 'building' }),
            new steps.Compile(),
            new steps.Test({ command: ['make', 'check'] }),
            new steps.Git({ repourl: 'https://example/r.git' }),
            new steps.SetPropertyFromCommand({ command: 'git rev-parse HEAD', property: 'rev' }),
            new steps.FileUpload({ workersrc: 'out.tgz', masterdest: 'public/out.tgz' }),
            new steps.FileDownload({ mastersrc: 'cfg', workerdest: 'cfg' }),
            new steps.DirectoryUpload({ workersrc: 'docs', masterdest: 'public/docs' }),
            new steps.Trigger({ schedulerNames: ['t'], copy_properties: ['branch'], set_properties: { x: 1 } }),
          ],
        },
      ],
      schedulers: [new schedulers.Triggerable({ name: 't', builderNames: ['linux gcc/12'] })],
    });
    const b = c.builders[0]!;
    expect(b).to.include({ builddir: 'linux_gcc_12', workerbuilddir: 'linux_gcc_12' });
    expect(b).to.deep.include({ workernames: ['w'], tags: [], properties: {}, defaultProperties: {}, env: {}, locks: [] });
    expect(b.steps.map((s) => s.name)).to.deep.equal(['shell', 'compile', 'test', 'git', 'setproperty', 'upload', 'download', 'upload', 'trigger']);
    expect(b.steps[0]).to.deep.equal({ kind: 'ShellCommand', name: 'shell', ...COMMON_STEP_DEFAULTS, description: ['building'], command: 'make', ...SHELL_DEFAULTS });
    expect(b.steps[1]).to.deep.include({ haltOnFailure: true, command: ['make', 'all'], description: ['compiling'], descriptionDone: ['compile'] });
    expect(b.steps[2]).to.deep.include({ warnOnFailure: true, command: ['make', 'check'] });
    expect(b.steps[3]).to.deep.include({
      branch: 'HEAD',
      mode: 'incremental',
      workdir: 'build',
      haltOnFailure: true,
      submodules: false,
      shallow: false,
      timeout: 1200,
      codebase: '',
    });
    expect(b.steps[4]).to.include({ property: 'rev', strip: true, includeStdout: true, includeStderr: false });
    expect(b.steps[5]).to.include({ blocksize: 262144, keepstamp: false, haltOnFailure: true });
    expect(b.steps[6]).to.include({ blocksize: 16384 });
    expect(b.steps[8]).to.deep.include({
      updateSourceStamp: true,
      waitForFinish: false,
      parent_relationship: 'Triggered from',
      set_properties: { x: 1, branch: new util.Property('branch') },
    });
  });

  it('fills in scheduler and change source defaults', () => {
    const c = resolve({
      workers: [{ name: 'w', host: 'h', basedir: '/b' }],
      builders: [{ name: 'b', workernames: ['w'], steps: [] }],
      schedulers: [
        new schedulers.SingleBranchScheduler({ name: 'sb', branch: null, builderNames: ['b'] }),
        new schedulers.AnyBranchScheduler({ name: 'any', builderNames: ['b'] }),
        new schedulers.Periodic({ name: 'p', builderNames: ['b'], periodicBuildTimer: '6h' }),
        new schedulers.Nightly({ name: 'n', builderNames: ['b'], hour: 3, dayOfWeek: [0, 6] }),
        new schedulers.NightlyTriggerable({ name: 'nt', builderNames: ['b'], cron: '30 2 * * 1-5', timezone: 'Europe/Paris' }),
        new schedulers.Dependent({ name: 'dep', upstream: new schedulers.Triggerable({ name: 'sb', builderNames: [] }), builderNames: ['b'] }),
        new schedulers.ForceScheduler({ name: 'force', builderNames: ['b'], codebases: ['', new util.CodebaseParameter({ codebase: 'lib', branch: 'main', project: null })] }),
      ],
      changeSources: [new changes.GitPoller({ repourl: 'https://example/r.git' }), new changes.HgPoller({ repourl: 'https://hg.example/r', branch: 'stable' })],
    });
    const [sb, any, periodic, nightly, nt, dep, force] = c.schedulers;
    expect(sb).to.deep.include({
      treeStableTimer: null,
      onlyImportant: false,
      codebases: { '': {} },
      reason: "The SingleBranchScheduler scheduler named 'sb' triggered this build",
    });
    expect(sb).to.have.nested.property('change_filter.checks[0]').that.deep.equals({ field: 'branch', op: 'eq', values: [null] });
    expect(any).to.include({ change_filter: null });
    expect(periodic).to.include({ periodicBuildTimer: 21600, onlyIfChanged: false, reason: "The Periodic scheduler named 'p' triggered this build" });
    // Buildbot's dayOfWeek counts from Monday = 0; cron from Sunday = 0.
    expect(nightly).to.include({ cron: '0 3 * * 1,0' });
    expect(nt).to.include({ cron: '30 2 * * 1-5', timezone: 'Europe/Paris' });
    expect(dep).to.deep.include({ upstream: ['sb'] });
    expect(force).to.include({ buttonName: 'force', label: 'force', reasonString: "A build was forced by '%(owner)s': %(reason)s" });
    expect(force).to.have.nested.property('reason.default', 'force build');
    expect(force).to.have.nested.property('username.label', 'Your name:');
    if (force?.kind !== 'ForceScheduler') throw new Error('expected a ForceScheduler');
    expect(force.codebases).to.deep.equal({ '': { branch: '', repository: '', revision: '' }, lib: { branch: '', repository: '', revision: '' } });
    expect(force.codebaseParameters[1]!.fields.map((f) => [f.kind, f.fullName, f.default])).to.deep.equal([
      ['FixedParameter', 'lib_branch', 'main'],
      ['StringParameter', 'lib_repository', ''],
      ['StringParameter', 'lib_revision', ''],
    ]);
    expect(c.changeSources[0]).to.deep.include({
      name: 'https://example/r.git',
      branches: ['master'],
      pollInterval: 600,
      pollAtLaunch: false,
      workdir: '/srv/master/gitpoller-work',
      usetimestamps: true,
      project: '',
    });
    expect(c.changeSources[1]).to.deep.include({ name: 'https://hg.example/r_stable', branches: ['stable'], workdir: '/srv/master/hgpoller-work' });
  });
});

describe('config summary', () => {
  it('counts with singular and plural', () => {
    expect(summarizeConfig(resolve({}))).to.equal('0 workers, 0 builders, 0 schedulers, 0 change sources');
    const c = resolve({
      workers: [{ name: 'w1', host: 'h', basedir: '/b' }, { name: 'w2', host: 'h', basedir: '/b' }],
      builders: [{ name: 'b1', workernames: ['w1'], steps: [] }],
      schedulers: [new schedulers.ForceScheduler({ name: 'f', builderNames: ['b1'] }), new schedulers.Triggerable({ name: 't', builderNames: ['b1'] })],
      changeSources: [new changes.GitPoller({ repourl: 'r' })],
    });
    expect(summarizeConfig(c)).to.equal('2 workers, 1 builder, 2 schedulers, 1 change source');
  });
});

describe('config sample', () => {
  const tmp = useTempDir('bm-sample-');

  it('passes validation as written, in a directory with no package.json and no node_modules', async () => {
    const file = join(tmp(), 'master.config.ts');
    writeFileSync(file, sampleConfig({ dbUrl: DEFAULT_DB_URL }));
    const { config } = await loadConfig(file);
    expect(summarizeConfig(config)).to.equal('1 worker, 2 builders, 2 schedulers, 1 change source');
    expect(config.workers[0]).to.include({ host: '127.0.0.1', basedir: '/tmp/buildmaster-worker' });
    expect(config.builders.map((b) => b.steps.map((s) => s.kind))).to.deep.equal([
      ['Git', 'ShellCommand'],
      ['Git', 'ShellCommand'],
    ]);
    expect(config.schedulers[0]).to.include({ kind: 'SingleBranchScheduler', treeStableTimer: 60 });
    expect(config.changeSources[0]).to.include({ kind: 'GitPoller', pollInterval: 300 });
  });

  it('passes in a "type": "module" directory (as create-master writes it) and keeps the given db url', async () => {
    writeFileSync(join(tmp(), 'package.json'), '{"type":"module","private":true}\n');
    const file = join(tmp(), 'master.config.ts');
    const url = 'mysql://bb:secret@127.0.0.1:3306/buildmaster';
    writeFileSync(file, sampleConfig({ dbUrl: url }));
    const { config } = await loadConfig(file);
    expect(config.db.url).to.equal(url);
  });
});
