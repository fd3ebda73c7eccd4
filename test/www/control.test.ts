/**
 * The JSON-RPC controls on a real master whose builds run over a real sshd: stop, rebuild, cancel,
 * worker pause/unpause/stop, with their authorisation (401 without credentials, 403 without the role),
 * and the live log of a running build over SSE.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { getRequest } from '../../lib/db/buildrequests.js';
import { getBuild, getBuildsForRequest } from '../../lib/db/builds.js';
import { getBuildset, getBuildsetProperties } from '../../lib/db/buildsets.js';
import { getSourcestampsOfBuildset } from '../../lib/db/sourcestamps.js';
import { getWorker } from '../../lib/db/workers.js';
import { Master } from '../../lib/master/master.js';
import { CANCELLED, SUCCESS } from '../../lib/process/results.js';
import { hashPassword } from '../../lib/www/passwords.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { configSource, freePort, makeMasterDir, removeDir, trust, until } from '../master/masterDir.js';
import { writeFile } from 'node:fs/promises';

const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const ALICE = basic('alice', 'wonderland');
const BOB = basic('bob', 'builder');

describe('www: control over JSON-RPC (real master, real sshd)', function () {
  this.timeout(120_000);
  let sshd: Sshd;
  let dir: string | undefined;
  let master: Master | undefined;
  let base: string;

  before(async function () {
    sshd = await startSshd(this, { users: 1 });
    const u = sshd.users[0]!;
    const port = await freePort();
    dir = await makeMasterDir({ workers: [], builders: [] });
    const source = configSource({
      workers: [{ name: 'w1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, 'wk') }],
      builders: [
        { name: 'slow', workernames: ['w1'], command: 'echo started; sleep 60' },
        { name: 'quick', workernames: ['w1'], command: 'echo line-one; echo line-two' },
      ],
      wwwPort: port,
    });
    const auth = `www: { host: '127.0.0.1', port: ${port}, auth: { users: [
      { username: 'alice', passwordHash: ${JSON.stringify(await hashPassword('wonderland'))}, roles: ['control'] },
      { username: 'bob', passwordHash: ${JSON.stringify(await hashPassword('builder'))}, roles: [] },
    ] } },`;
    const replaced = source.replace(`www: { host: '127.0.0.1', port: ${port} },`, auth);
    expect(replaced).to.not.equal(source);
    await writeFile(join(dir, 'master.config.ts'), replaced);
    await trust(dir, '127.0.0.1', sshd.port, sshd.hostPublicKeyLine);
    master = await Master.start({ basedir: dir, www: true, sshBackoff: { baseMs: 100, maxMs: 500 } });
    base = `http://127.0.0.1:${master.www!.port}`;
    await until(() => master!.workers.get('w1')?.connection.isConnected(), 'w1 connected');
  });
  after(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    await sshd?.stop();
    await removeDir(dir);
  });

  let rpcId = 0;
  async function rpc(path: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string> = ALICE) {
    const res = await fetch(`${base}/api/v2/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++rpcId }),
    });
    return { status: res.status, body: (await res.json()) as { result?: unknown; error?: { code: number; message: string } } };
  }

  /** Forces one build of `builder` and waits until it runs; its buildid and request. */
  async function forceRunning(builder: string, output?: string): Promise<{ buildid: number; brid: number }> {
    const started = master!.bus.waitFor<{ buildid: number; builderid: number }>(['builds', '*', 'new'], (m) => m.builderid === master!.builderIds().get(builder));
    // The command is running once its first line arrives (a user stops what they see running).
    const printed = output ? master!.bus.waitFor<{ lines: string[] }>(['logs', '*', 'append'], (m) => m.lines.includes(`o${output}`)) : undefined;
    const forced = await rpc('forceschedulers/force', 'force', { builderNames: [builder] });
    expect(forced.status, JSON.stringify(forced.body)).to.equal(200);
    const { message } = await started;
    await printed;
    const build = await getBuild(master!.db, message.buildid);
    return { buildid: message.buildid, brid: Number(build!.buildrequestid) };
  }

  const finished = (buildid: number) => master!.bus.waitFor<{ results: number }>(['builds', String(buildid), 'finished'], () => true, 60_000);

  it('stop: 401 without credentials, 403 without the role; with it the running build ends CANCELLED', async () => {
    const { buildid } = await forceRunning('slow', 'started');
    const anonymous = await rpc(`builds/${buildid}`, 'stop', { reason: 'x' }, {});
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body.error!.code).to.equal(-32600);
    const bob = await rpc(`builds/${buildid}`, 'stop', { reason: 'x' }, BOB);
    expect(bob.status).to.equal(403);
    expect(bob.body.error!.message).to.equal("you need to have role 'control'");
    expect((await getBuild(master!.db, buildid))!.complete_at).to.equal(null);

    const done = finished(buildid);
    const stop = await rpc(`builds/${buildid}`, 'stop', { reason: 'enough' });
    expect(stop).to.deep.equal({ status: 200, body: { jsonrpc: '2.0', id: rpcId, result: null } } as unknown);
    expect((await done).message.results).to.equal(CANCELLED);
    const row = await getBuild(master!.db, buildid);
    expect(Number(row!.results)).to.equal(CANCELLED);
    expect(row!.state_string).to.match(/enough/);
    // A finished build: nothing to do (as Buildbot); an unknown one: 404; an unknown method: 501.
    expect((await rpc(`builds/${buildid}`, 'stop')).body.result).to.equal(null);
    expect((await rpc('builds/999999', 'stop')).status).to.equal(404);
    expect((await rpc(`builds/${buildid}`, 'explode')).status).to.equal(501);
  });

  it('rebuild: a new buildset with the same stamps and properties for that builder only, which runs', async () => {
    const { buildid, brid } = await forceRunning('quick');
    await finished(buildid);
    const path = `builders/quick/builds/${(await getBuild(master!.db, buildid))!.number}`;
    expect((await rpc(path, 'rebuild', {}, {})).status).to.equal(401);
    expect((await rpc(path, 'rebuild', {}, BOB)).status).to.equal(403);
    const res = await rpc(path, 'rebuild');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const [bsid, brids] = res.body.result as [number, Record<string, number>];
    const quickId = master!.builderIds().get('quick')!;
    expect(Object.keys(brids)).to.deep.equal([String(quickId)]);
    const oldBsid = Number((await getRequest(master!.db, brid))!.buildsetid);
    const ssids = async (id: number) => (await getSourcestampsOfBuildset(master!.db, id)).map((s) => Number(s.id));
    expect(await ssids(bsid)).to.deep.equal(await ssids(oldBsid));
    expect(await getBuildsetProperties(master!.db, bsid)).to.deep.equal(await getBuildsetProperties(master!.db, oldBsid));
    expect((await getBuildset(master!.db, bsid))!.reason).to.equal('rebuild');
    const rebuilt = await until(async () => (await getRequest(master!.db, brids[String(quickId)]!))?.complete === 1, 'the rebuild to finish', 60_000);
    expect(rebuilt).to.equal(true);
    expect(Number((await getRequest(master!.db, brids[String(quickId)]!))!.results)).to.equal(SUCCESS);
  });

  it('pause keeps requests pending; cancel completes one CANCELLED and no build runs; unpause resumes', async () => {
    expect((await rpc('workers/w1', 'pause', {}, {})).status).to.equal(401);
    expect((await rpc('workers/w1', 'pause', {}, BOB)).status).to.equal(403);
    expect((await rpc('workers/w1', 'pause')).status).to.equal(200);
    expect((await getWorker(master!.db, master!.workers.get('w1')!.workerid))!.paused).to.equal(true);
    const forced = await rpc('forceschedulers/force', 'force', { builderNames: ['quick'] });
    const brid = Object.values((forced.body.result as [number, Record<string, number>])[1])[0]!;
    await new Promise((r) => setTimeout(r, 500));
    expect((await getRequest(master!.db, brid))!.complete).to.equal(0);

    expect((await rpc(`buildrequests/${brid}`, 'cancel', {}, {})).status).to.equal(401);
    expect((await rpc(`buildrequests/${brid}`, 'cancel', {}, BOB)).status).to.equal(403);
    const bsComplete = master!.bus.waitFor(['buildsets', '*', 'complete']);
    expect((await rpc(`buildrequests/${brid}`, 'cancel', { reason: 'not needed' })).status).to.equal(200);
    const req = await getRequest(master!.db, brid);
    expect([req!.complete, Number(req!.results)]).to.deep.equal([1, CANCELLED]);
    await bsComplete;

    // Graceful stop: no new build either, shown as graceful; unpause undoes both.
    expect((await rpc('workers/w1', 'unpause', {}, {})).status).to.equal(401);
    expect((await rpc('workers/w1', 'unpause', {}, BOB)).status).to.equal(403);
    expect((await rpc('workers/w1', 'unpause')).status).to.equal(200);
    expect((await rpc('workers/w1', 'stop', {}, {})).status).to.equal(401);
    expect((await rpc('workers/w1', 'stop', {}, BOB)).status).to.equal(403);
    expect((await rpc('workers/w1', 'stop')).status).to.equal(200);
    const w = await getWorker(master!.db, master!.workers.get('w1')!.workerid);
    expect([w!.paused, w!.graceful]).to.deep.equal([false, true]);
    const again = await rpc('forceschedulers/force', 'force', { builderNames: ['quick'] });
    const brid2 = Object.values((again.body.result as [number, Record<string, number>])[1])[0]!;
    await new Promise((r) => setTimeout(r, 500));
    expect((await getRequest(master!.db, brid2))!.complete).to.equal(0);
    expect((await rpc('workers/w1', 'unpause')).status).to.equal(200);
    expect((await getWorker(master!.db, master!.workers.get('w1')!.workerid))!.graceful).to.equal(false);
    await until(async () => (await getRequest(master!.db, brid2))?.complete === 1, 'the request to run after unpause', 60_000);
    expect(await getBuildsForRequest(master!.db, brid)).to.deep.equal([]);
    expect((await rpc('workers/nosuch', 'pause')).status).to.equal(404);
  });

  it('cancel of a request already building stops its build', async () => {
    const { buildid, brid } = await forceRunning('slow', 'started');
    const done = finished(buildid);
    expect((await rpc(`buildrequests/${brid}`, 'cancel')).status).to.equal(200);
    expect((await done).message.results).to.equal(CANCELLED);
  });

  it('streams a running build\'s log lines over SSE with their timestamps', async () => {
    const res = await fetch(`${base}/sse/listen/logs/*/append`);
    expect(res.headers.get('content-type')).to.equal('text/event-stream');
    const reader = res.body!.getReader();
    const { buildid } = await forceRunning('quick');
    let text = '';
    const decoder = new TextDecoder();
    const deadline = Date.now() + 30_000;
    while (!text.includes('line-two') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await reader.cancel();
    expect(text).to.match(/^event: handshake\ndata: [0-9a-f-]{36}\n\n/);
    const events = text.split('\n\n').filter((e) => e.startsWith('event: event')).map((e) => JSON.parse(e.split('\ndata: ')[1]!) as { key: string[]; message: { lines: string[]; timestamps: number[] } });
    const lines = events.flatMap((e) => e.message.lines);
    expect(lines).to.include.members(['oline-one', 'oline-two']);
    for (const e of events) {
      expect(e.key[0]).to.equal('logs');
      expect(e.message.timestamps).to.have.length(e.message.lines.length);
    }
    await finished(buildid).catch(() => undefined);
  });
});
