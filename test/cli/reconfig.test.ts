import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getRequestsOfBuildset } from '../../lib/db/buildrequests.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { select } from '../../lib/db/query.js';
import { readStatus } from '../../lib/master/statusFile.js';
import { configSource, freePort, makeMasterDir, removeDir, until, type ConfigSpec } from '../master/masterDir.js';
import { submitRequests, killMasterProcess, runCliProcess, startMasterProcess, type MasterProcess } from '../master/masterProcess.js';

/**
 * `buildmaster reconfig DIR` against a real `start --nodaemon` process (no builds run: the worker is
 * unreachable, so requests stay pending, which is all these tests look at).
 */
describe('buildmaster reconfig (real processes)', function () {
  this.timeout(180_000);
  let dir: string | undefined;
  let proc: MasterProcess | undefined;
  let db: Database | undefined;
  let port: number;
  let deadPort: number;

  beforeEach(async () => {
    port = await freePort();
    deadPort = await freePort();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && proc) process.stderr.write(`--- master output ---\n${proc.output.slice(-6000)}\n`);
    if (proc) await killMasterProcess(proc);
    proc = undefined;
    await db?.close();
    db = undefined;
    await removeDir(dir);
    dir = undefined;
  });

  function spec(builders: string[], more: Partial<ConfigSpec> = {}): ConfigSpec {
    return {
      workers: [{ name: 'nowhere', port: deadPort, user: 'nobody', privateKeyFile: '/nonexistent', basedir: '/nonexistent' }],
      builders: builders.map((name) => ({ name, workernames: ['nowhere'], command: 'true' })),
      wwwPort: port,
      ...more,
    };
  }

  async function start(): Promise<void> {
    dir = await makeMasterDir(spec(['b1']));
    proc = await startMasterProcess(dir);
    db = await openDatabase({ url: 'sqlite:///state.sqlite', basedir: dir });
  }

  async function requestedBuilders(bsid: number): Promise<string[]> {
    const names = new Map((await select<{ id: number; name: string }>(db!, 'SELECT id, name FROM builders')).map((b) => [b.id, b.name]));
    return (await getRequestsOfBuildset(db!, bsid)).map((r) => names.get(r.builderid)!);
  }

  it('applies a valid config (exit 0, what changed); rejects an invalid one with its errors (exit 7), the old one staying in force', async () => {
    await start();
    await writeFile(join(dir!, 'master.config.ts'), configSource(spec(['b1', 'b2'])));
    const ok = await runCliProcess(['reconfig', dir!]);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('reconfig applied').and.contain('builders added: b2');
    expect(await requestedBuilders((await submitRequests(db!)).bsid)).to.deep.equal(['b1', 'b2']);

    // A builder naming a worker that does not exist, and a syntax-valid but wrong type.
    const bad = configSource(spec(['b1', 'b2', 'b3'])).replace(`workernames: ["nowhere"], steps: [new steps.ShellCommand({ name: 'run', command: "true" })],  },\n  ]`, `workernames: ["ghost"], steps: [] },\n  ]`);
    expect(bad).to.contain('ghost');
    await writeFile(join(dir!, 'master.config.ts'), bad);
    const rejected = await runCliProcess(['reconfig', dir!]);
    expect(rejected.code, rejected.stdout + rejected.stderr).to.equal(7);
    expect(rejected.stderr).to.contain('reconfig rejected; the old config stays in force').and.match(/master\.config\.ts:\d+: builders\[2\]/).and.contain('ghost');
    expect(await requestedBuilders((await submitRequests(db!)).bsid), 'the old config is still in force').to.deep.equal(['b1', 'b2']);
    expect(proc!.child.exitCode).to.equal(null);
  });

  it('rejects a new database URL; reports settings that need a restart; answers SIGHUP in the status file', async () => {
    await start();
    await writeFile(join(dir!, 'master.config.ts'), configSource(spec(['b1'])).replace(`url: 'sqlite:///state.sqlite'`, `url: 'sqlite:///other.sqlite'`));
    const moved = await runCliProcess(['reconfig', dir!]);
    expect(moved.code).to.equal(7);
    expect(moved.stderr).to.contain('db.url: the database cannot change while the master runs');

    const otherPort = await freePort();
    await writeFile(join(dir!, 'master.config.ts'), configSource(spec(['b1'], { wwwPort: otherPort })));
    const www = await runCliProcess(['reconfig', dir!]);
    expect(www.code, www.stdout + www.stderr).to.equal(0);
    expect(www.stderr).to.contain('take effect only when the master restarts: buildbotURL, www');

    const seq = readStatus(join(dir!, 'buildmaster.status.json'))!.reconfig!.seq;
    await writeFile(join(dir!, 'master.config.ts'), configSource(spec(['b1', 'b9'])));
    proc!.child.kill('SIGHUP');
    const status = await until(() => {
      const s = readStatus(join(dir!, 'buildmaster.status.json'));
      return s?.reconfig && s.reconfig.seq > seq ? s : undefined;
    }, 'the master to answer SIGHUP');
    expect(status.reconfig).to.deep.include({ ok: true, changes: ['builders added: b9', 'schedulers reconfigured'] });
  });

  it('exits 3 when the master is not running', async () => {
    dir = await makeMasterDir(spec(['b1']));
    const r = await runCliProcess(['reconfig', dir]);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.contain('is not running');
    expect(await readFile(join(dir, 'master.config.ts'), 'utf8')).to.contain('b1');
  });
});
