import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../lib/config/loader.js';
import { validateConfig } from '../../lib/config/validate.js';
import { steps, schedulers, util } from '../../lib/index.js';
import { ConfigError } from '../../lib/errors/index.js';
import { useTempDir } from '../support/tmp.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/config');

async function problemsOf(file: string): Promise<ConfigError> {
  try {
    await loadConfig(file);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`${file} passed validation`);
}

/** Problems of a config object without a file (no lines), as `path: message`. */
function problems(config: unknown): string[] {
  const r = validateConfig(config, '/srv/master');
  if (r.ok) return [];
  return r.problems.map((p) => `${p.path}: ${p.message}`);
}

const WORKER = { name: 'w1', host: 'h1', basedir: '/srv/bb' };
const BUILDER = { name: 'b1', workernames: ['w1'], steps: [] };

describe('config/validate', () => {
  it('reports every shape problem of a file at once, each with its path and line', async () => {
    const file = join(FIXTURES, 'errors-shape.ts');
    const err = await problemsOf(file);
    expect(err.file).to.equal(file);
    const duration = '(use seconds or a string like "30d", "12h", "15m", "45s")';
    expect(err.message.split('\n')).to.deep.equal([
      `${file}:5: tittle: unknown option (did you mean "title"?)`,
      `${file}:6: db.url: invalid database URL postgres://db.example/bb: unsupported database "postgres" (use sqlite or mysql)`,
      `${file}:7: www.port: port out of range: 70000 (expected 0-65535)`,
      `${file}:8: janitor.logHorizon: bad duration "30 days" ${duration}`,
      `${file}:10: workers[0].basedir: must be an absolute path on the worker, got "builds"`,
      `${file}:11: workers[1].host: expected a string, got 42`,
      `${file}:11: workers[1].port: port out of range: 0 (expected 1-65535)`,
      `${file}:12: workers[2].maxBuilds: expected a number, got "2"`,
      `${file}:15: builders[0].workernames: missing required option`,
      `${file}:17: builders[0].wokernames: unknown option (did you mean "workernames"?)`,
      `${file}:19: builders[0].steps[0].command: missing required option`,
      `${file}:19: builders[0].steps[0].comand: unknown option (did you mean "command"?)`,
      `${file}:20: builders[0].steps[1].command[1]: expected a string or a renderable, got 5`,
      `${file}:20: builders[0].steps[1].timeout: bad duration "10 minutes" ${duration}`,
      `${file}:21: builders[0].steps[2].method: method "clobber" needs mode "full"`,
      `${file}:22: builders[0].steps[3].command: Interpolate: invalid selector 'nope' (expected one of prop, src, kw, secret, worker)`,
      `${file}:23: builders[0].steps[4]: expected a step (new steps.ShellCommand({...}), new steps.Git({...}), …), got "make all"`,
      `${file}:28: schedulers[0].hour: bad cron field 25: Constraint error, got value 25 expected range 0-23`,
      `${file}:29: schedulers[1].cron: bad cron expression "0 3 * *": expected 5 fields: minute hour day-of-month month day-of-week`,
      `${file}:30: schedulers[2].treeStableTimer: bad duration -1 ${duration}`,
    ]);
    // Columns point at the key or element itself.
    expect(err.problems[0]).to.deep.equal({ path: 'tittle', message: 'unknown option (did you mean "title"?)', line: 5, column: 3 });
    expect(err.problems.find((p) => p.path === 'builders[0].wokernames')).to.include({ line: 17, column: 7 });
    expect(err.problems.find((p) => p.path === 'builders[0].steps[4]')).to.include({ line: 23, column: 9 });
  });

  it('reports duplicates and dangling references with their lines', async () => {
    const file = join(FIXTURES, 'errors-refs.ts');
    const err = await problemsOf(file);
    expect(err.message.split('\n')).to.deep.equal([
      `${file}:11: workers[2].name: duplicate worker name "lnx-1" (also workers[0])`,
      `${file}:15: builders[1].locks[0]: another lock named "repo" is defined differently (builders[0].locks[0]); locks are identified by name`,
      `${file}:18: builders[2].workernames[1]: unknown worker "lnx-3"`,
      `${file}:19: builders[2].steps[0].schedulerNames[0]: unknown scheduler "deploy"`,
      `${file}:19: builders[2].steps[0].schedulerNames[1]: scheduler "nightly" is a Nightly; only Triggerable and NightlyTriggerable schedulers can be triggered`,
      `${file}:21: builders[3].name: duplicate builder name "linux" (also builders[0])`,
      `${file}:21: builders[3].builddir: duplicate builddir "linux" (also builders[0])`,
      `${file}:24: schedulers[0].builderNames[1]: unknown builder "windows"`,
      `${file}:26: schedulers[2].upstream: unknown scheduler "mian"`,
      `${file}:27: schedulers[3].name: duplicate scheduler name "main" (also schedulers[0])`,
      `${file}:31: changeSources[1].name: duplicate change source name "https://example/r.git" (also changeSources[0])`,
    ]);
  });

  describe('lines for configs that are not one literal', () => {
    const tmp = useTempDir('bm-validate-');

    function write(text: string): string {
      mkdirSync(tmp(), { recursive: true });
      writeFileSync(join(tmp(), 'package.json'), '{"type":"module"}\n');
      const file = join(tmp(), 'master.config.ts');
      writeFileSync(file, text);
      return file;
    }

    it('follows `const config = {...}; export default config` and finds a unique dangling name by search', async () => {
      const file = write(`import { defineConfig } from 'buildmaster';
const names = ['a', 'b'];
const config = defineConfig({
  workers: [{ name: 'w1', host: 'h', basedir: '/x' }],
  builders: names.map((name) => ({ name, workernames: name === 'b' ? ['lnx-3'] : ['w1'], steps: [] })),
});
export default config;
`);
      const err = await problemsOf(file);
      // builders comes from .map(): no literal path, but "lnx-3" occurs once in the file.
      expect(err.problems).to.deep.equal([
        { path: 'builders[1].workernames[0]', message: 'unknown worker "lnx-3"', line: 5, column: 71 },
      ]);
    });

    it('leaves the line out rather than guess when the offending text is not unique', async () => {
      const file = write(`import { defineConfig } from 'buildmaster';
const mk = (name: string, worker: string) => ({ name, workernames: [worker], steps: [] });
export default defineConfig({
  workers: [{ name: 'w1', host: 'h', basedir: '/x' }],
  builders: [mk('a', 'lnx-3'), mk('b', 'lnx-3')],
});
`);
      const err = await problemsOf(file);
      expect(err.problems).to.deep.equal([
        { path: 'builders[0].workernames[0]', message: 'unknown worker "lnx-3"' },
        { path: 'builders[1].workernames[0]', message: 'unknown worker "lnx-3"' },
      ]);
      expect(err.message).to.equal(
        [`${file}: builders[0].workernames[0]: unknown worker "lnx-3"`, `${file}: builders[1].workernames[0]: unknown worker "lnx-3"`].join('\n'),
      );
    });
  });

  it('accepts a workernames string and Windows paths, and rejects cmd on posix', () => {
    expect(problems({ workers: [{ ...WORKER, platform: 'windows', basedir: 'D:\\builds' }], builders: [{ ...BUILDER, workernames: 'w1' }] })).to.deep.equal([]);
    expect(problems({ workers: [{ ...WORKER, platform: 'windows', basedir: '/srv/bb' }] })).to.deep.equal([
      'workers[0].basedir: must be an absolute path on the worker, got "/srv/bb"',
    ]);
    expect(problems({ workers: [{ ...WORKER, shell: 'cmd' }] })).to.deep.equal(['workers[0].shell: cmd needs platform "windows" (platform is "posix")']);
  });

  it('checks worker names as Buildbot does', () => {
    expect(problems({ workers: [{ ...WORKER, name: 'has space' }, { ...WORKER, name: 'debug' }, { ...WORKER, name: 'x'.repeat(51) }] })).to.deep.equal([
      `workers[0].name: worker name "has space" is not an identifier (letters, digits, '_' and '-')`,
      'workers[1].name: worker name "debug" is reserved',
      'workers[2].name: must be at most 50 characters',
    ]);
  });

  it('checks builder names, tags and step names', () => {
    expect(
      problems({
        workers: [WORKER],
        builders: [{ ...BUILDER, name: '_hidden', tags: ['a', 'a'], steps: [new steps.ShellCommand({ command: 'x', name: 'n'.repeat(51) })] }],
      }),
    ).to.deep.equal([
      'builders[0].name: builder names must not start with an underscore: "_hidden"',
      'builders[0].steps[0].name: must be at most 50 characters',
      'builders[0].tags[1]: duplicate tag "a"',
    ]);
  });

  it('checks step option combinations as Buildbot does', () => {
    const builder = (s: unknown[]) => ({ workers: [WORKER], builders: [{ ...BUILDER, steps: s }] });
    expect(
      problems(
        builder([
          new steps.SetPropertyFromCommand({ command: 'git rev-parse HEAD' }),
          new steps.Git({ repourl: 'r', mode: 'full', method: 'fresh', shallow: true }),
          new steps.Trigger({ schedulerNames: ['t'], sourceStamps: [{ branch: 'x' }], updateSourceStamp: true }),
          new steps.FileUpload({ workersrc: 'a', masterdest: '' }),
        ]),
      ),
    ).to.deep.equal([
      'builders[0].steps[0].property: exactly one of property and extract_fn must be set',
      'builders[0].steps[1].shallow: shallow is only possible with mode "full" and method "clobber"',
      "builders[0].steps[2].updateSourceStamp: can't be given with sourceStamps",
      'builders[0].steps[3].masterdest: must not be empty',
      'builders[0].steps[2].schedulerNames[0]: unknown scheduler "t"',
    ]);
  });

  it('checks locks: kinds, counts, and the same lock taken by a builder and its step', () => {
    const lock = new util.WorkerLock('cpu', { maxCount: 0 });
    const ok = new util.MasterLock('db');
    expect(
      problems({
        workers: [WORKER],
        builders: [
          { ...BUILDER, locks: [lock, 'db'], steps: [] },
          { ...BUILDER, name: 'b2', locks: [ok.access('exclusive')], steps: [new steps.ShellCommand({ command: 'x', locks: [ok] })] },
        ],
      }),
    ).to.deep.equal([
      'builders[0].locks[0].maxCount: must be at least 1, got 0',
      "builders[0].locks[1]: expected a lock (new util.MasterLock(...), new util.WorkerLock(...) or lock.access('exclusive')), got \"db\"",
      'builders[1].steps[0].locks[0]: lock "db" is already taken by the builder (builders[1].locks[0])',
    ]);
  });

  it('checks scheduler options', () => {
    const base = { workers: [WORKER], builders: [BUILDER] };
    expect(
      problems({
        ...base,
        schedulers: [
          new schedulers.SingleBranchScheduler({ name: 's1', builderNames: ['b1'], branch: 'main', change_filter: new util.ChangeFilter({ branch: 'x' }) }),
          new schedulers.Periodic({ name: 'p', builderNames: ['b1'], periodicBuildTimer: 0 }),
          new schedulers.Nightly({ name: 'n', builderNames: ['b1'], cron: '0 3 * * *', hour: 3, timezone: 'Mars/Olympus' }),
          new schedulers.ForceScheduler({ name: 'has space', builderNames: ['b1'], properties: [new util.StringParameter({ name: 'owner' })] }),
          new schedulers.Try({ name: 'try', builderNames: ['b1'] }),
          new schedulers.Dependent({ name: 'd', upstream: 'd', builderNames: ['b1'] }),
          new schedulers.AnyBranchScheduler({ name: 'any', builderNames: ['b1'], change_filter: new util.ChangeFilter({ branch_re: '(' }) }),
        ],
      }),
    ).to.deep.equal([
      'schedulers[0].branch: cannot be given with change_filter',
      'schedulers[1].periodicBuildTimer: must be positive',
      'schedulers[2].timezone: unknown time zone "Mars/Olympus"',
      'schedulers[2].hour: cannot be given with cron',
      `schedulers[3].name: must be an identifier (letters, digits, '_', '-'), got "has space"`,
      'schedulers[3].properties[0].name: "owner" is reserved and cannot be a parameter name',
      'schedulers[4].userpass: give userpass or token: try jobs need credentials',
      'schedulers[6].change_filter.branch_re: bad regular expression: Invalid regular expression: /^(?:()/: Unterminated group',
      'schedulers[5].upstream: a scheduler cannot depend on itself',
    ]);
  });

  it('checks the top level: multiMaster timing, secrets dir, log level, buildbotURL', () => {
    expect(
      problems({
        multiMaster: { heartbeatInterval: 30, deadMasterTimeout: '20s' },
        secrets: { dir: 'no-such-secrets' },
        logLevel: 'loud',
        buildbotURL: 'localhost:8010',
      }),
    ).to.deep.equal([
      'buildbotURL: expected an http(s) URL, got "localhost:8010"',
      'multiMaster.deadMasterTimeout: must be longer than heartbeatInterval (30 s)',
      'logLevel: expected "fatal" or "error" or "warn" or "info" or "debug" or "trace" or "silent", got "loud"',
      'secrets.dir: no such directory: /srv/master/no-such-secrets',
    ]);
  });
});
