import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getChange, addChange } from '../../lib/db/changes.js';
import type { Database } from '../../lib/db/connection.js';
import { getMasters } from '../../lib/db/masters.js';
import { select } from '../../lib/db/query.js';
import { getSchedulers } from '../../lib/db/schedulers.js';
import { masterName } from '../../lib/master/identity.js';
import { repoRoot } from '../support/cli.js';
import { forEachDialect } from '../support/databases.js';
import { freePort, makeMasterDir, removeDir, until } from './masterDir.js';

/**
 * THE multi-master test: two `buildmaster start --nodaemon` processes with the same config share
 * one database. Every scheduler runs on exactly one of them; kill -9 that one and the other takes
 * the schedulers over once deadMasterTimeout has passed; every change — added before the kill,
 * while no master ran the schedulers, and after the takeover — is scheduled exactly once.
 */
const CLI_ENTRY = fileURLToPath(new URL('./cliEntry.ts', import.meta.url));
const SCHEDULERS = ['sb', 'ab', 'per', 'nightly', 'trig', 'dep', 'force'];

function configSource(dbUrl: string, deadPort: number): string {
  return `import { defineConfig, steps, schedulers, util } from 'buildmaster';
export default defineConfig({
  db: { url: ${JSON.stringify(dbUrl)} },
  www: { host: '127.0.0.1', port: 0 },
  multiMaster: { heartbeatInterval: 1, deadMasterTimeout: 4 },
  // A worker nobody can reach: the buildsets stay pending, which is all this test counts.
  workers: [{ name: 'nowhere', host: '127.0.0.1', port: ${deadPort}, user: 'nobody', basedir: '/nonexistent' }],
  builders: [{ name: 'b1', workernames: ['nowhere'], steps: [new steps.ShellCommand({ command: 'true' })] }],
  schedulers: [
    new schedulers.SingleBranchScheduler({ name: 'sb', branch: 'main', builderNames: ['b1'] }),
    new schedulers.AnyBranchScheduler({ name: 'ab', change_filter: new util.ChangeFilter({ branch_re: '^feature/' }), treeStableTimer: 1, builderNames: ['b1'] }),
    new schedulers.Periodic({ name: 'per', periodicBuildTimer: 86400, builderNames: ['b1'] }),
    new schedulers.Nightly({ name: 'nightly', hour: 3, builderNames: ['b1'] }),
    new schedulers.Triggerable({ name: 'trig', builderNames: ['b1'] }),
    new schedulers.Dependent({ name: 'dep', upstream: 'sb', builderNames: ['b1'] }),
    new schedulers.ForceScheduler({ name: 'force', builderNames: ['b1'] }),
  ],
});
`;
}

interface Proc {
  child: ChildProcess;
  output: string;
}

forEachDialect('multi-master: two master processes sharing a database', (h) => {
  const procs: Proc[] = [];
  const dirs: string[] = [];
  let db: Database;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(`--- master pid ${p.child.pid} output ---\n${p.output.slice(-6000)}\n`);
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGKILL');
        await exited;
      }
    }
    for (const d of dirs.splice(0)) await removeDir(d);
  });

  async function startMaster(dbUrl: string, deadPort: number): Promise<{ proc: Proc; dir: string }> {
    const dir = await makeMasterDir({ workers: [], builders: [] });
    dirs.push(dir);
    await writeFile(join(dir, 'master.config.ts'), configSource(dbUrl, deadPort));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'start', '--nodaemon', dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BUILDMASTER_LOG_LEVEL: 'info' },
    });
    const proc: Proc = { child, output: '' };
    child.stdout!.on('data', (d) => (proc.output += d));
    child.stderr!.on('data', (d) => (proc.output += d));
    procs.push(proc);
    return { proc, dir };
  }

  async function masterId(dir: string): Promise<number> {
    const name = masterName(dir);
    return until(async () => (await getMasters(db)).find((m) => m.name === name && m.active === 1)?.id, `master ${dir} to be up`, 60_000);
  }

  async function owners(): Promise<Map<string, number | null>> {
    return new Map((await getSchedulers(db)).map((s) => [s.name, s.masterid]));
  }

  async function allOn(masterid: number): Promise<boolean> {
    const o = await owners();
    return SCHEDULERS.every((n) => o.get(n) === masterid);
  }

  /** buildsets per (scheduler, sourcestamp id). */
  async function buildsetCounts(): Promise<Map<string, number>> {
    const rows = await select<{ id: number; property_value: string; sourcestampid: number }>(
      db,
      `SELECT b.id, p.property_value, bss.sourcestampid FROM buildsets b
         JOIN buildset_properties p ON p.buildsetid = b.id AND p.property_name = 'scheduler'
         JOIN buildset_sourcestamps bss ON bss.buildsetid = b.id`,
    );
    const counts = new Map<string, number>();
    for (const r of rows) {
      const key = `${(JSON.parse(r.property_value) as [string])[0]}:${r.sourcestampid}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  async function schedulerTotal(name: string): Promise<number> {
    let n = 0;
    for (const [k, v] of await buildsetCounts()) if (k.startsWith(`${name}:`)) n += v;
    return n;
  }

  it('runs every scheduler on one master; after kill -9 the other takes them over, and no change is scheduled twice or dropped', async function () {
    this.timeout(240_000);
    db = await h.open();
    const dbUrl = h.dialect === 'sqlite' ? `sqlite:///${join(h.basedir(), 'state.sqlite')}` : h.url();
    const deadPort = await freePort();

    const a = await startMaster(dbUrl, deadPort);
    const aId = await masterId(a.dir);
    await until(() => allOn(aId), 'master A to run every scheduler', 60_000);
    const b = await startMaster(dbUrl, deadPort);
    const bId = await masterId(b.dir);
    await new Promise((r) => setTimeout(r, 2_500)); // a few claim beats of B
    expect(await allOn(aId), 'every scheduler still on A while A lives').to.equal(true);
    expect(aId).to.not.equal(bId);

    const change = (branch: string, revision: string) => addChange(db, { author: 'dev', branch, revision, files: ['f.c'], src: 'git' });
    const before = [await change('main', 'c1'), await change('main', 'c2'), await change('feature/x', 'fx1')];
    const stamp = async (changeid: number) => (await getChange(db, changeid))!.sourcestampid;
    await until(async () => {
      const counts = await buildsetCounts();
      return counts.get(`sb:${await stamp(before[0]!)}`) && counts.get(`sb:${await stamp(before[1]!)}`) && counts.get(`ab:${await stamp(before[2]!)}`);
    }, 'A to schedule the first changes', 30_000);

    a.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    const during = [await change('main', 'c3'), await change('main', 'c4'), await change('feature/y', 'fy1')];
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await allOn(aId), 'nothing is taken over before the dead-master timeout').to.equal(true);
    await until(() => allOn(bId), 'master B to take every scheduler over', 60_000);
    expect(Date.now() - killedAt).to.be.greaterThan(3_000);
    expect((await getMasters(db)).find((m) => m.id === aId)).to.include({ active: 0 });

    const after = [await change('main', 'c5')];
    const expected = [
      ...[before[0], before[1], during[0], during[1], after[0]].map((c) => ['sb', c!] as const),
      ['ab', before[2]!] as const,
      ['ab', during[2]!] as const,
    ];
    await until(async () => {
      const counts = await buildsetCounts();
      for (const [sched, c] of expected) if (!counts.get(`${sched}:${await stamp(c)}`)) return false;
      return true;
    }, 'every change to be scheduled', 60_000);
    await new Promise((r) => setTimeout(r, 3_000)); // time for any duplicate to show up

    const counts = await buildsetCounts();
    for (const [sched, c] of expected) expect(counts.get(`${sched}:${await stamp(c)}`), `${sched} buildsets for change ${c}`).to.equal(1);
    expect(await schedulerTotal('sb')).to.equal(5);
    expect(await schedulerTotal('ab')).to.equal(2);
    expect(await schedulerTotal('per'), 'Periodic built at first start only: B kept its phase').to.equal(1);
    expect(await schedulerTotal('dep')).to.equal(0); // nothing upstream finished (no worker)

    const stopped = new Promise((r) => b.proc.child.once('exit', r));
    b.proc.child.kill('SIGTERM');
    await stopped;
    expect([...(await owners()).values()].every((m) => m === null), 'B released its schedulers at stop').to.equal(true);
  });
});
