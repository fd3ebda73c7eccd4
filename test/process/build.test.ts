import { expect } from 'chai';
import { join } from 'node:path';
import { Interpolate, Property, Secret } from '../../lib/config/renderables.js';
import { ShellCommand, Git, SetPropertyFromCommand } from '../../lib/config/steps.js';
import { getPendingRequests, getRequest } from '../../lib/db/buildrequests.js';
import { getBuildset } from '../../lib/db/buildsets.js';
import { CANCELLED, EXCEPTION, FAILURE, RETRY, SKIPPED, SUCCESS, WARNINGS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { makeHarness, type Harness } from '../workers/harness.js';
import { leftovers, makeRepo, makeWorld, pidsOf, readBuild, waitUntil, type BuildWorld } from './buildHarness.js';

describe('process/build (real sshd)', function () {
  this.timeout(60_000);
  let sshd: Sshd;
  let ssh: Harness;

  before(async function () {
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    if (process.env.BM_KEEP_SSHD_LOG && sshd) await import('node:fs/promises').then((fs) => fs.copyFile(sshd.logFile, process.env.BM_KEEP_SSHD_LOG!));
    await sshd?.stop();
  });
  beforeEach(async () => {
    ssh = await makeHarness();
    await ssh.trust(sshd);
  });
  afterEach(async () => {
    await ssh?.cleanup();
  });

  forEachDialect('a Git + shell build', (h) => {
    it('checks out the revision, runs the commands and stores output, exit codes and timestamps', async function () {
      const w = await makeWorld(h, sshd, ssh);
      const repo = await makeRepo(join(sshd.dir, `repo-${h.dialect}`), w.user.uid);
      const first = await repo.commit('README', 'hello from the repo\n', 'first');
      const t0 = Date.now();
      const config = w.config(
        [
          new Git({ repourl: repo.path, mode: 'incremental' }),
          new ShellCommand({ command: 'cat README; echo to-stderr >&2; git rev-list --count HEAD', logEnviron: false }),
          new ShellCommand({ command: ['sh', '-c', 'exit 3'], decodeRC: { 3: 0 } }),
        ],
        { properties: { global: 'g' } },
      );
      const { build, results } = await w.build(config, {
        sourcestamp: { codebase: '', branch: 'main', revision: null, repository: repo.path, project: 'p' },
        properties: { fromset: ['s', 'Scheduler'] },
      });
      const t1 = Date.now();
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(SUCCESS);
      expect(stored.build).to.include({ results: SUCCESS, state_string: 'build successful', number: 1 });
      expect(stored.steps.map((s) => s.name)).to.deep.equal(['worker_preparation', 'git', 'shell', 'shell_1']);
      expect(stored.steps.map((s) => s.results)).to.deep.equal([0, 0, 0, 0]);
      expect(stored.step('worker_preparation')!.state_string).to.equal('worker w1 ready');
      expect(stored.step('git')!.state_string).to.equal('update');

      const props = stored.properties;
      expect(props.got_revision).to.deep.equal([first, 'Git']);
      expect(props.buildnumber).to.deep.equal([1, 'Build']);
      expect(props.buildername).to.deep.equal(['b1', 'Builder']);
      expect(props.workername).to.deep.equal(['w1', 'Worker']);
      expect(props.branch).to.deep.equal(['main', 'Build']);
      expect(props.project).to.deep.equal(['p', 'Build']);
      expect(props.global[0]).to.equal('g');
      expect(props.fromset).to.deep.equal(['s', 'Scheduler']);
      expect(props.builddir).to.deep.equal([join(w.workerBasedir, 'b1'), 'Worker']);

      const stdio = stored.step('shell')!.log('stdio')!;
      expect(stdio.complete).to.equal(1);
      expect(stdio.lines[0]).to.equal('hcat README; echo to-stderr >&2; git rev-list --count HEAD');
      expect(stdio.lines[1]).to.equal(`h in dir ${join(w.workerBasedir, 'b1', 'build')} (timeout 1200 secs)`);
      expect(stdio.lines).to.include("h argv: ['/bin/sh', '-c', 'cat README; echo to-stderr >&2; git rev-list --count HEAD']");
      expect(stdio.lines).to.include.members(['ohello from the repo', 'eto-stderr', 'o1', 'hprogram finished with exit code 0']);
      expect(stdio.lines.at(-1)).to.match(/^helapsedTime=\d+\.\d{6}$/);
      for (const ts of stdio.timestamps) expect(ts).to.be.within(t0, t1);
      const rc3 = stored.step('shell_1')!.log('stdio')!;
      expect(rc3.lines).to.include('hprogram finished with exit code 3');
      expect(rc3.lines).to.include(' environment:'.replace(/^/, 'h'));

      const gitLog = stored.step('git')!.log('stdio')!;
      expect(gitLog.lines.some((l) => l.startsWith('hgit clone') && l.includes(repo.path))).to.equal(true);
      expect(gitLog.lines.some((l) => l.startsWith('hgit rev-parse HEAD'))).to.equal(true);

      const req = (await getRequest(w.db, stored.build.buildrequestid))!;
      expect(req).to.include({ complete: 1, results: SUCCESS });
      const bs = (await getBuildset(w.db, req.buildsetid))!;
      expect(bs).to.include({ complete: 1, results: SUCCESS });
      const keys = w.events.map((e) => e.key.join('.'));
      expect(keys).to.include.members([`builds.${build.buildid}.new`, `builds.${build.buildid}.finished`, `buildrequests.${req.id}.complete`, `buildsets.${req.buildsetid}.complete`]);
      expect(keys.filter((k) => /^logs\.\d+\.append$/.test(k)).length).to.be.greaterThan(2);

      // A second build on the same slave fetches the new commit (incremental), a third checks out the old one.
      const second = await repo.commit('README', 'second version\n', 'second');
      const b2 = await w.build(config, { sourcestamp: { codebase: '', branch: 'main', revision: null, repository: repo.path, project: 'p' } });
      const s2 = await readBuild(w.db, b2.build.buildid);
      expect(b2.results).to.equal(SUCCESS);
      expect(s2.properties.got_revision[0]).to.equal(second);
      expect(s2.step('git')!.log('stdio')!.lines.some((l) => l.startsWith('hgit fetch -f -t'))).to.equal(true);
      expect(s2.step('shell')!.log('stdio')!.lines).to.include.members(['osecond version', 'o2']);
      const b3 = await w.build(config, { sourcestamp: { codebase: '', branch: 'main', revision: first, repository: repo.path, project: 'p' } });
      const s3 = await readBuild(w.db, b3.build.buildid);
      expect(s3.properties.got_revision[0]).to.equal(first);
      expect(s3.step('shell')!.log('stdio')!.lines).to.include('ohello from the repo');
      expect(s3.build.number).to.equal(3);
    });
  });

  forEachDialect('results', (h) => {
    let w: BuildWorld;
    beforeEach(async () => {
      w = await makeWorld(h, sshd, ssh);
    });

    it('a failing haltOnFailure step fails the build and stops it; alwaysRun steps still run', async () => {
      const config = w.config([
        new ShellCommand({ name: 'ok', command: 'echo fine' }),
        new ShellCommand({ name: 'breaks', command: 'echo broken >&2; exit 2', haltOnFailure: true }),
        new ShellCommand({ name: 'never', command: 'echo never' }),
        new ShellCommand({ name: 'cleanup', command: 'echo cleaning', alwaysRun: true }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(FAILURE);
      expect(stored.steps.map((s) => [s.name, s.results])).to.deep.equal([
        ['worker_preparation', SUCCESS],
        ['ok', SUCCESS],
        ['breaks', FAILURE],
        ['cleanup', SUCCESS],
      ]);
      expect(stored.build.state_string).to.equal("failed 'echo broken ...' (failure)");
      expect(stored.step('breaks')!.log('stdio')!.lines).to.include.members(['ebroken', 'hprogram finished with exit code 2']);
      expect(stored.step('cleanup')!.log('stdio')!.lines).to.include('ocleaning');
      const req = (await getRequest(w.db, stored.build.buildrequestid))!;
      expect(req).to.include({ complete: 1, results: FAILURE });
    });

    it('merges results with flunkOnFailure/warnOnFailure, doStepIf, hideStepIf and decodeRC', async () => {
      const config = w.config([
        new ShellCommand({ name: 'warn-only', command: 'exit 1', flunkOnFailure: false, warnOnFailure: true }),
        new ShellCommand({ name: 'skipped', command: 'echo x', doStepIf: (s: { getProperty(n: string): unknown }) => s.getProperty('buildername') !== 'b1' }),
        new ShellCommand({ name: 'hidden', command: 'true', hideStepIf: (results: number) => results === SUCCESS }),
        new ShellCommand({ name: 'rc-warn', command: 'exit 5', decodeRC: { 5: WARNINGS } }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(WARNINGS);
      expect(stored.steps.map((s) => [s.name, s.results, s.hidden])).to.deep.equal([
        ['worker_preparation', SUCCESS, 0],
        ['warn-only', FAILURE, 0],
        ['skipped', SKIPPED, 0],
        ['hidden', SUCCESS, 1],
        ['rc-warn', WARNINGS, 0],
      ]);
      expect(stored.build.state_string).to.equal("warnings 'exit 1' (failure)");
      expect(stored.step('skipped')!.state_string).to.equal("'echo x' (skipped)");
    });

    it('an exception in a step is EXCEPTION with its stack in err.text, and the master goes on', async () => {
      const config = w.config([
        new ShellCommand({ name: 'boom', command: 'true', doStepIf: () => { throw new Error('doStepIf exploded'); } }),
        new ShellCommand({ name: 'after', command: 'true' }),
      ]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(EXCEPTION);
      expect(stored.steps.map((s) => s.name)).to.deep.equal(['worker_preparation', 'boom']);
      const err = stored.step('boom')!.log('err.text')!;
      expect(err.type).to.equal('t');
      expect(err.lines[0]).to.equal('Error: doStepIf exploded');
      expect(err.lines.length).to.be.greaterThan(1);
      expect(stored.build.state_string).to.equal("exception 'true' (exception)");
    });

    it('properties follow Buildbot precedence and steps set and render them', async () => {
      const config = w.config(
        [
          new SetPropertyFromCommand({ command: 'echo "  computed value  "', property: 'computed' }),
          new SetPropertyFromCommand({ name: 'extract', command: 'echo a=1; echo b=2 >&2', extract_fn: (rc: number, out: string, err: string) => ({ rc, out: out.trim(), err: err.trim() }) }),
          new ShellCommand({ name: 'use', command: new Interpolate('echo %(prop:computed)s/%(prop:who)s/%(prop:err)s/%(prop:buildername)s'), env: { FROM_PROP: new Property('who') } }),
        ],
        { properties: { who: 'global', g: 1 }, builder: { properties: { who: 'builder' } }, worker: { properties: { w: 'x' } } },
      );
      const { build, results } = await w.build(config, { properties: { who: ['buildset', 'Force'], bs: ['y', 'Force'] } });
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(SUCCESS);
      const p = stored.properties;
      expect(p.who).to.deep.equal(['builder', 'Builder']);
      expect(p.bs).to.deep.equal(['y', 'Force']);
      expect(p.w).to.deep.equal(['x', 'Worker']);
      expect(p.computed).to.deep.equal(['computed value', 'SetPropertyFromCommand Step']);
      expect(p.rc[0]).to.equal(0);
      expect(p.err[0]).to.equal('b=2');
      expect(stored.step('setproperty')!.state_string).to.equal("property 'computed' set");
      expect(stored.step('extract')!.state_string).to.equal('3 properties set');
      expect(stored.step('use')!.log('stdio')!.lines).to.include('ocomputed value/builder/b=2/b1');
      expect(stored.step('use')!.log('stdio')!.lines).to.include('h  FROM_PROP=builder');
    });

    it('a worker that is not connected ends the build RETRY in worker_preparation and requeues the request', async () => {
      const config = w.config([new ShellCommand({ command: 'true' })]);
      await w.conn.close();
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(RETRY);
      expect(stored.build.state_string).to.equal('worker not available');
      expect(stored.steps.map((s) => [s.name, s.results, s.state_string])).to.deep.equal([['worker_preparation', EXCEPTION, 'error while worker_prepare']]);
      const pending = await getPendingRequests(w.db, { builderid: w.builderid });
      expect(pending.map((r) => r.id)).to.include(stored.build.buildrequestid);
    });
  });

  forEachDialect('secrets', (h) => {
    it('never stores a secret value in any log line, header or state string', async () => {
      const w = await makeWorld(h, sshd, ssh);
      const secret = 's3cr3t-v4lue-42';
      const config = w.config(
        [
          new ShellCommand({
            name: new Interpolate('deploy %(secret:token)s'),
            command: new Interpolate('echo tok=%(secret:token)s; echo "$TOKEN" >&2; echo %(secret:token)s | rev'),
            env: { TOKEN: new Secret('token') },
          }),
          new ShellCommand({ name: 'argv', command: ['echo', new Secret('token'), 'x'], haltOnFailure: true }),
        ],
        { secrets: { token: secret } },
      );
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(SUCCESS);
      const all = stored.steps.flatMap((s) => [s.name, s.state_string, ...s.logs.flatMap((l) => l.lines)]);
      all.push(stored.build.state_string);
      for (const line of all) expect(line).not.to.contain(secret);
      const lines = stored.steps[1].logs[0].lines;
      expect(stored.steps[1].name).to.equal('deploy <token>');
      expect(lines).to.include.members(['otok=<token>', 'e<token>', 'h  TOKEN=<token>']);
      expect(lines[0]).to.equal('hecho tok=<token>; echo "$TOKEN" >&2; echo <token> | rev');
      expect(stored.step('argv')!.log('stdio')!.lines).to.include.members(['hecho <token> x', 'o<token> x']);
    });
  });

  // Slow (they wait for kills), and nothing in them depends on the dialect: sqlite only.
  forEachDialect('interrupting', (h) => {
    before(function () {
      if (h.dialect !== 'sqlite') this.skip();
    });
    let w: BuildWorld;
    beforeEach(async () => {
      w = await makeWorld(h, sshd, ssh);
    });
    afterEach(async () => {
      await waitUntil(async () => (await pidsOf(w.user.name, 'sleep')).length === 0, 10_000, 'no sleep left').catch(() => undefined);
    });

    it('the no-output timeout kills the remote process tree', async () => {
      const config = w.config([new ShellCommand({ command: 'sleep 301 & sleep 302; wait', timeout: 1 })]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(FAILURE);
      const lines = stored.step('shell')!.log('stdio')!.lines;
      expect(lines).to.include('hcommand timed out: 1 seconds without output running sleep 301 & sleep 302; wait, attempting to kill');
      expect(lines).to.include('hprogram finished with exit code -1');
      await waitUntil(async () => (await leftovers(w.user.name)).length === 0, 10_000, 'no process of the user left');
    });

    it('maxTime kills the tree even while it prints', async () => {
      const config = w.config([new ShellCommand({ command: 'while true; do echo tick; sleep 0.2; done', maxTime: 1 })]);
      const { build, results } = await w.build(config);
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(FAILURE);
      const lines = stored.step('shell')!.log('stdio')!.lines;
      expect(lines.filter((l) => l === 'otick').length).to.be.greaterThan(1);
      expect(lines.some((l) => l.startsWith('hcommand timed out: 1 seconds elapsed running'))).to.equal(true);
      await waitUntil(async () => (await leftovers(w.user.name)).length === 0, 10_000, 'no process of the user left');
    });

    it('stop() cancels the build and kills the tree; the request completes CANCELLED', async () => {
      const config = w.config([
        new ShellCommand({ name: 'long', command: 'echo started; sleep 303 & sleep 304; wait' }),
        new ShellCommand({ name: 'skipped-after-stop', command: 'true' }),
        new ShellCommand({ name: 'always', command: 'echo after', alwaysRun: true }),
      ]);
      const build = await w.start(config);
      await waitUntil(async () => (await pidsOf(w.user.name, 'sleep')).length === 2, 15_000, 'the sleeps to start');
      build.stop('enough of that');
      const { results } = await build.finished;
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(CANCELLED);
      expect(stored.steps.map((s) => [s.name, s.results])).to.deep.equal([
        ['worker_preparation', SUCCESS],
        ['long', CANCELLED],
        ['always', SUCCESS],
      ]);
      expect(stored.build.state_string).to.equal("cancelled (enough of that) 'echo started; ...' (cancelled)");
      expect(stored.step('long')!.log('cancelled')!.lines).to.deep.equal(['enough of that']);
      expect(stored.step('long')!.log('stdio')!.lines).to.include('hcommand interrupted (enough of that), attempting to kill');
      await waitUntil(async () => (await leftovers(w.user.name)).length === 0, 10_000, 'no process of the user left');
      const req = (await getRequest(w.db, stored.build.buildrequestid))!;
      expect(req).to.include({ complete: 1, results: CANCELLED });
    });

    it('stop(reason, RETRY) (a master shutting down) ends the build RETRY and unclaims the request', async () => {
      const config = w.config([new ShellCommand({ name: 'long', command: 'sleep 306' })]);
      const build = await w.start(config);
      await waitUntil(async () => (await pidsOf(w.user.name, 'sleep')).length === 1, 15_000, 'the sleep to start');
      build.stop('Master Shutdown', RETRY);
      const { results } = await build.finished;
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(RETRY);
      expect(stored.steps.map((s) => [s.name, s.results])).to.deep.equal([
        ['worker_preparation', SUCCESS],
        ['long', RETRY],
      ]);
      expect(stored.build.state_string).to.equal("retry (Master Shutdown) 'sleep 306' (retry)");
      const req = (await getRequest(w.db, stored.build.buildrequestid))!;
      expect(req).to.include({ complete: 0, claimed_by_masterid: null });
      await waitUntil(async () => (await leftovers(w.user.name)).length === 0, 10_000, 'no process of the user left');
    });

    it('a connection cut mid-step ends the build RETRY and unclaims the request', async () => {
      const config = w.config([
        new ShellCommand({ name: 'long', command: 'echo started; sleep 305' }),
        new ShellCommand({ name: 'after', command: 'true', alwaysRun: true }),
      ]);
      const build = await w.start(config);
      await waitUntil(async () => (await pidsOf(w.user.name, 'sleep')).length === 1, 15_000, 'the sleep to start');
      await sshd.killSessions();
      const { results } = await build.finished;
      const stored = await readBuild(w.db, build.buildid);
      expect(results, stored.dump()).to.equal(RETRY);
      expect(stored.steps.map((s) => [s.name, s.results])).to.deep.equal([
        ['worker_preparation', SUCCESS],
        ['long', RETRY],
      ]);
      expect(stored.build.state_string).to.match(/^retry lost connection/);
      const lines = stored.step('long')!.log('stdio')!.lines;
      expect(lines).to.include('ostarted');
      expect(lines.some((l) => /^hlost connection to worker w1 \(.*\) running echo started; sleep 305$/.test(l)), lines.join('\n')).to.equal(true);
      const req = (await getRequest(w.db, stored.build.buildrequestid))!;
      expect(req).to.include({ complete: 0, claimed_by_masterid: null });
      const pending = await getPendingRequests(w.db, { builderid: w.builderid });
      expect(pending.map((r) => r.id)).to.include(req.id);
      expect(w.events.some((e) => e.key.join('.') === `buildrequests.${req.id}.unclaimed`)).to.equal(true);
      // The process left behind is killed once the connection is back.
      await waitUntil(async () => (await leftovers(w.user.name)).length === 0, 20_000, 'the orphan to be reaped');
    });
  });
});

