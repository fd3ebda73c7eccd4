import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { changes, defineConfig, schedulers, steps, util, type MasterConfig } from '../../lib/index.js';
import { isRenderable } from '../../lib/config/renderables.js';
import { validateConfig } from '../../lib/config/validate.js';

describe('public API (lib/index.ts)', () => {
  it('types and builds a config with every constructor (tsc checks this file)', () => {
    const repoLock = new util.MasterLock('repo', { maxCount: 2 });
    const cpu = new util.WorkerLock('cpu', { maxCount: 2, maxCountForWorker: { big: 8 } });
    const config: MasterConfig = defineConfig({
      title: 'API',
      db: { url: 'sqlite:///state.sqlite' },
      www: { host: '127.0.0.1', port: 8010 },
      workers: [{ name: 'big', host: '10.0.0.1', basedir: '/srv/bb', privateKeyPassphrase: new util.Secret('keypass'), agent: true }],
      builders: [
        {
          name: 'full',
          workernames: ['big'],
          locks: [repoLock.access('exclusive'), cpu],
          collapseRequests: (_master, _builder, a, b) => a.sources === b.sources,
          nextWorker: (_builder, workers) => workers[0] ?? null,
          steps: [
            new steps.Git({ repourl: new util.Interpolate('https://%(secret:tok)s@example/r.git'), mode: 'full', method: 'fresh' }),
            new steps.ShellCommand({
              command: ['make', new util.Interpolate('-j%(kw:jobs)s', { jobs: 4 }), new util.Property('target', 'all')],
              env: { PATH: ['/opt/bin', '${PATH}'] },
              decodeRC: { 0: 0, 1: 1 },
              doStepIf: (step) => step.build !== undefined,
              locks: [new util.WorkerLock('disk').access('counting', 2)],
            }),
            new steps.Compile({ warnOnWarnings: true }),
            new steps.Test({ command: new util.Transform((t: unknown) => `make ${String(t)}`, new util.Property('suite')) }),
            new steps.SetPropertyFromCommand({ command: 'uname', extract_fn: (_rc, stdout) => ({ os: stdout.trim() }) }),
            new steps.FileUpload({ workersrc: 'a.tgz', masterdest: 'public/a.tgz', mode: 0o644 }),
            new steps.FileDownload({ mastersrc: 'cfg.json', workerdest: 'cfg.json' }),
            new steps.DirectoryUpload({ workersrc: 'html', masterdest: 'public/html', compress: 'gz' }),
            new steps.Trigger({ schedulerNames: ['deploy'], waitForFinish: true, set_properties: { from: new util.Property('buildername') } }),
          ],
        },
      ],
      schedulers: [
        new schedulers.SingleBranchScheduler({
          name: 'main',
          change_filter: new util.ChangeFilter({ branch: 'main', project_re: /^app/, property_eq: { ci: 'yes' } }),
          treeStableTimer: '2m',
          fileIsImportant: (change) => change.files.length > 0,
          builderNames: ['full'],
        }),
        new schedulers.AnyBranchScheduler({ name: 'any', branches: ['dev', null], builderNames: ['full'] }),
        new schedulers.Periodic({ name: 'hourly', periodicBuildTimer: 3600, builderNames: ['full'] }),
        new schedulers.Nightly({ name: 'nightly', hour: [1, 13], dayOfWeek: '0-4', builderNames: ['full'], onlyIfChanged: true }),
        new schedulers.NightlyTriggerable({ name: 'nt', cron: '0 4 * * *', builderNames: ['full'] }),
        new schedulers.Triggerable({ name: 'deploy', builderNames: ['full'] }),
        new schedulers.Dependent({ name: 'after', upstream: ['main', 'any'], builderNames: ['full'] }),
        new schedulers.ForceScheduler({
          name: 'force',
          builderNames: ['full'],
          username: new util.UserNameParameter({ need_email: false }),
          codebases: [new util.CodebaseParameter({ codebase: '', branch: new util.ChoiceStringParameter({ name: 'branch', choices: ['main', 'dev'] }) })],
          properties: [
            new util.StringParameter({ name: 'note', regex: '^[a-z]*$' }),
            new util.TextParameter({ name: 'text', rows: 5 }),
            new util.IntParameter({ name: 'jobs', default: 4 }),
            new util.BooleanParameter({ name: 'clean', default: true }),
            new util.FixedParameter({ name: 'fixed', default: 'v' }),
          ],
        }),
        new schedulers.Try({ name: 'try', builderNames: ['full'], token: new util.Secret('trytoken') }),
      ],
      changeSources: [
        new changes.GitPoller({ repourl: 'https://example/r.git', branches: (ref) => ref.startsWith('refs/heads/'), pollAtLaunch: true }),
        new changes.HgPoller({ repourl: 'https://hg.example/r', bookmarks: ['main'] }),
      ],
      janitor: { logHorizon: '30d' },
      secrets: { values: { tok: 't', keypass: 'p', trytoken: 'x' } },
      logLevel: 'debug',
    });
    const r = validateConfig(config, '/srv/master');
    expect(r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)).to.deep.equal([]);
    if (!r.ok) return;
    expect(r.config.schedulers.map((s) => s.kind)).to.deep.equal([
      'SingleBranchScheduler',
      'AnyBranchScheduler',
      'Periodic',
      'Nightly',
      'NightlyTriggerable',
      'Triggerable',
      'Dependent',
      'ForceScheduler',
      'Try',
    ]);
    expect(r.config.builders[0]!.locks.map((l) => [l.lock.name, l.mode, l.count])).to.deep.equal([
      ['repo', 'exclusive', 1],
      ['cpu', 'counting', 1],
    ]);
  });

  it('gives every object a kind, and renderables their contract fields', () => {
    const i = new util.Interpolate('%(kw:a)s', { a: 1 });
    expect(i).to.deep.include({ kind: 'Interpolate', fmt: '%(kw:a)s', args: [], kwargs: { a: 1 } });
    expect(new util.Interpolate('%s-%s', 'a', new util.Property('b'))).to.deep.include({ args: ['a', new util.Property('b')], kwargs: {} });
    expect(new util.Property('p')).to.deep.include({ kind: 'Property', name: 'p', defaultWhenFalse: true });
    expect(new util.Property('p', 'd', { defaultWhenFalse: false })).to.deep.include({ default: 'd', defaultWhenFalse: false });
    expect(new util.Secret('s')).to.deep.include({ kind: 'Secret', name: 's' });
    expect(isRenderable(new util.Transform(() => 1))).to.equal(true);
    expect(isRenderable({ kind: 'ShellCommand' })).to.equal(false);
    expect(new steps.ShellCommand({ command: 'x' }).kind).to.equal('ShellCommand');
    expect(new changes.GitPoller({ repourl: 'r' }).kind).to.equal('GitPoller');
    expect(new util.MasterLock('m').access('exclusive')).to.deep.include({ kind: 'LockAccess', mode: 'exclusive', count: 1 });
  });

  it('keeps the import graph of lib/index.ts free of heavy modules (every config loads it)', () => {
    const root = resolve(import.meta.dirname, '../../lib/index.ts');
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      // Runtime imports and re-exports only: `import type` / `export type` are erased.
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else bare.add(spec);
      }
    };
    visit(root);
    expect([...bare]).to.deep.equal([]);
    expect(seen.size).to.be.greaterThan(5);
  });
});
