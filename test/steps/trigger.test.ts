import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getBuildsForRequest } from '../../lib/db/builds.js';
import { getBuildset, getBuildsetProperties, getBuildsetSourcestamps } from '../../lib/db/buildsets.js';
import { getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { select } from '../../lib/db/query.js';
import { getSteps } from '../../lib/db/steps.js';
import { Master } from '../../lib/master/master.js';
import { FAILURE, SUCCESS } from '../../lib/process/results.js';
import { makeMasterDir, removeDir, trust, until } from '../master/masterDir.js';
import { startSshd, type Sshd } from '../support/sshd.js';

/** The Trigger step in real builds: a Master, a real sshd as the slave, Triggerable schedulers. */
describe('steps/Trigger (Master + real sshd)', function () {
  this.timeout(180_000);
  let sshd: Sshd;
  let dir: string | undefined;
  let master: Master | undefined;

  before(async function () {
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    master = undefined;
    await removeDir(dir);
    dir = undefined;
  });

  function config(): string {
    const u = sshd.users[0]!;
    const worker = { name: 'w1', host: '127.0.0.1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, 'wk'), maxBuilds: 4 };
    return `import { defineConfig, steps, schedulers } from 'buildmaster';
export default defineConfig({
  db: { url: 'sqlite:///state.sqlite' },
  www: { host: '127.0.0.1', port: 0 },
  buildbotURL: 'http://ci.example.org/',
  collapseRequests: false,
  multiMaster: { heartbeatInterval: 1 },
  workers: [${JSON.stringify(worker)}],
  builders: [
    { name: 'parent', workernames: ['w1'], steps: [
      new steps.ShellCommand({ name: 'prep', command: 'true' }),
      new steps.Trigger({ schedulerNames: ['children', 'optional'], unimportantSchedulerNames: ['optional'], waitForFinish: true,
        set_properties: { flavour: 'debug' }, copy_properties: ['buildnumber'] }),
    ] },
    { name: 'launcher', workernames: ['w1'], steps: [new steps.Trigger({ schedulerNames: ['children'] })] },
    { name: 'child-ok', workernames: ['w1'], steps: [new steps.ShellCommand({ command: 'echo child ok' })] },
    { name: 'child-bad', workernames: ['w1'], steps: [new steps.ShellCommand({ command: 'exit 3' })] },
    { name: 'extra', workernames: ['w1'], steps: [new steps.ShellCommand({ command: 'exit 1' })] },
  ],
  schedulers: [
    new schedulers.ForceScheduler({ name: 'force', builderNames: ['parent', 'launcher'] }),
    new schedulers.Triggerable({ name: 'children', builderNames: ['child-ok', 'child-bad'] }),
    new schedulers.Triggerable({ name: 'optional', builderNames: ['extra'] }),
  ],
});
`;
  }

  async function start(): Promise<Master> {
    dir = await makeMasterDir({ workers: [], builders: [] });
    await writeFile(join(dir, 'master.config.ts'), config());
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    master = await Master.start({ basedir: dir, sshBackoff: { baseMs: 100, maxMs: 500 } });
    return master;
  }

  it('waitForFinish: child buildsets with the parent, the trigger properties and the same stamps; the worst important result; links', async () => {
    const m = await start();
    const parentId = m.builderIds().get('parent')!;
    const { bsid, brids } = await m.force('force', { builderNames: ['parent'], sourcestamps: [{ codebase: '', branch: 'main', revision: 'cafe', repository: 'https://x/r' }] });
    await m.bus.waitFor(['buildsets', String(bsid), 'complete'], () => true, 120_000);
    const [parentBuild] = await getBuildsForRequest(m.db, brids[parentId]!);
    expect(parentBuild!.results).to.equal(FAILURE); // child-bad failed; 'extra' failed too but is unimportant

    const children = await select<{ id: number }>(m.db, 'SELECT id FROM buildsets WHERE parent_buildid = ? ORDER BY id', [parentBuild!.id]);
    expect(children).to.have.length(2);
    const [main, optional] = children.map((c) => Number(c.id));
    const bs = (await getBuildset(m.db, main!))!;
    expect(bs).to.include({ parent_relationship: 'Triggered from', complete: 1, results: FAILURE });
    expect(await getBuildsetProperties(m.db, main!)).to.deep.equal({ buildnumber: [parentBuild!.number, 'Trigger'], flavour: ['debug', 'Trigger'], scheduler: ['children', 'Scheduler'] });
    const parentStamps = await getBuildsetSourcestamps(m.db, bsid);
    expect((await getBuildsetSourcestamps(m.db, main!)).map((s) => s.id)).to.deep.equal(parentStamps.map((s) => s.id));
    const reqs = await getRequestsOfBuildset(m.db, main!);
    expect(reqs.map((r) => r.waited_for)).to.deep.equal([1, 1]);
    expect((await getBuildset(m.db, optional!))!.results).to.equal(FAILURE);

    const trigger = (await getSteps(m.db, parentBuild!.id)).find((s) => s.name === 'trigger')!;
    expect(trigger.results).to.equal(FAILURE);
    expect(trigger.state_string).to.match(/^triggered children, optional, 1 success, 2 failures/);
    const urls = JSON.parse(trigger.urls_json) as { name: string; url: string }[];
    const names = urls.map((u) => u.name);
    for (const r of reqs) expect(names).to.include(`children #${r.id}`);
    expect(names).to.include('success: child-ok #1').and.include('failure: child-bad #1').and.include('failure: extra #1');
    const okUrl = urls.find((u) => u.name === 'success: child-ok #1')!.url;
    expect(okUrl).to.equal(`http://ci.example.org/#/builders/${m.builderIds().get('child-ok')}/builds/1`);
  });

  it('without waitForFinish the step succeeds at once and the children still build', async () => {
    const m = await start();
    const launcher = m.builderIds().get('launcher')!;
    const { bsid, brids } = await m.force('force', { builderNames: ['launcher'] });
    await m.bus.waitFor(['buildsets', String(bsid), 'complete'], () => true, 120_000);
    const [b] = await getBuildsForRequest(m.db, brids[launcher]!);
    expect(b!.results).to.equal(SUCCESS);
    const trigger = (await getSteps(m.db, b!.id)).find((s) => s.name === 'trigger')!;
    expect(trigger.state_string).to.equal('triggered children');
    const [child] = await select<{ id: number }>(m.db, 'SELECT id FROM buildsets WHERE parent_buildid = ?', [b!.id]);
    const done = await until(async () => ((await getBuildset(m.db, Number(child!.id)))!.complete ? true : undefined), 'the child buildset to finish', 60_000);
    expect(done).to.equal(true);
    expect((await getRequestsOfBuildset(m.db, Number(child!.id))).map((r) => r.waited_for)).to.deep.equal([0, 0]);
  });
});
