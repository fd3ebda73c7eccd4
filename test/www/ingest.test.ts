/**
 * POST /api/v2/ingest/jobs on a real master (no workers needed: the jobs ran elsewhere): what it
 * stores, what the API then shows (builds, builder tags, log lines with their timestamps, the
 * push's builds for the grid), its authorisation, and that a bad job stores nothing.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getRequest } from '../../lib/db/buildrequests.js';
import { getBuildset } from '../../lib/db/buildsets.js';
import { getLogChunks } from '../../lib/db/logs.js';
import { addPush } from '../../lib/db/pushes.js';
import { select } from '../../lib/db/query.js';
import { readLines } from '../../lib/logs/chunkCodec.js';
import { Master } from '../../lib/master/master.js';
import { FAILURE } from '../../lib/process/results.js';
import { hashPassword } from '../../lib/www/passwords.js';
import { configSource, freePort, makeMasterDir, removeDir, until } from '../master/masterDir.js';
import { forEachDialect } from '../support/databases.js';

const TOKEN = 'ingest-token-for-tests';

forEachDialect('www: ingestion of jobs run elsewhere', (h) => {
  let dir: string | undefined;
  let master: Master | undefined;
  let base: string;

  beforeEach(async function () {
    this.timeout(60_000);
    const port = await freePort();
    dir = await makeMasterDir({ workers: [], builders: [] });
    await (await h.open()).close(); // this test's database, migrated
    const source = configSource({ workers: [], builders: [], wwwPort: port })
      .replace("db: { url: 'sqlite:///state.sqlite' }", `db: { url: ${JSON.stringify(h.url())} }`)
      .replace(
        `www: { host: '127.0.0.1', port: ${port} },`,
        `www: { host: '127.0.0.1', port: ${port}, auth: { users: [{ username: 'viewer', password: 'pw', roles: [] }], tokens: [{ name: 'ci', tokenHash: ${JSON.stringify(await hashPassword(TOKEN))}, roles: ['ingest'] }] } },`,
      )
      .replace(/schedulers: \[.*\],/, 'schedulers: [],');
    await writeFile(join(dir, 'master.config.ts'), source);
    master = await Master.start({ basedir: dir, www: true });
    base = `http://127.0.0.1:${master.www!.port}`;
  });
  afterEach(async () => {
    await master?.stop({ graceful: false }).catch(() => {});
    master = undefined;
    await removeDir(dir);
  });

  const post = (job: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(`${base}/api/v2/ingest/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(job) });
  const api = async (path: string) => (await (await fetch(`${base}/api/v2/${path}`, { headers: { accept: 'application/json' } })).json()) as Record<string, any>;
  const counts = async () => {
    const out: Record<string, number> = {};
    for (const t of ['builders', 'builds', 'buildsets', 'buildrequests', 'steps', 'logs', 'logchunks', 'sourcestamps', 'workers']) {
      out[t] = Number((await select<{ n: number }>(master!.db, `SELECT COUNT(*) AS n FROM ${t}`, []))[0]!.n);
    }
    return out;
  };

  const job = {
    builder: 'travis-linux',
    revision: 'abc123',
    branch: 'main',
    repository: 'https://example.org/repo.git',
    result: 'failure',
    started_at: 1_700_000_000,
    complete_at: '2023-11-14T22:16:40Z', // 1_700_000_200
    worker: 'travis-vm-7',
    log: 'compiling\nerror: it broke\n',
    log_timestamps: [1_700_000_010_000, 1_700_000_190_500],
    properties: { ci_url: 'https://ci.example.org/7' },
  };

  it('401 without credentials, 403 without the ingest role', async () => {
    const before = await counts();
    expect((await post(job, {})).status).to.equal(401);
    const viewer = await post(job, { authorization: `Basic ${Buffer.from('viewer:pw').toString('base64')}` });
    expect(viewer.status).to.equal(403);
    expect(((await viewer.json()) as { error: string }).error).to.equal("you need to have role 'ingest'");
    expect(await counts()).to.deep.equal(before);
  });

  it('records a job as a finished build that the API, the grid and live events show', async () => {
    // A push of that revision, as a poller or hook would have stored it.
    const { pushid } = await addPush(master!.db, { repository: job.repository, branch: 'main', author: 'a', source: 'git', changes: [{ author: 'A <a@x>', revision: 'abc123', branch: 'main', repository: job.repository }] });
    const finished = master!.bus.waitFor<{ buildid: number; results: number }>(['builds', '*', 'finished']);
    const res = await post(job);
    expect(res.status).to.equal(201);
    const out = (await res.json()) as { buildid: number; number: number; builderid: number; buildsetid: number; buildrequestid: number; stepid: number; logid: number };
    expect((await finished).message).to.include({ buildid: out.buildid, results: FAILURE });

    const build = (await api(`builds/${out.buildid}`)).builds[0];
    expect(build).to.include({ number: 1, builderid: out.builderid, complete: true, started_at: 1_700_000_000, complete_at: 1_700_000_200, results: FAILURE, state_string: 'failure (external)' });
    expect(build.workerid).to.be.a('number');
    const builder = (await api(`builders/${out.builderid}`)).builders[0];
    expect(builder).to.include({ name: 'travis-linux' });
    expect(builder.tags).to.deep.equal(['external']);
    const step = (await api(`builds/${out.buildid}/steps`)).steps[0];
    expect(step).to.include({ name: 'external', results: FAILURE, complete: true });
    const contents = (await api(`logs/${out.logid}/contents`)).logchunks[0];
    expect(contents.content).to.equal('ocompiling\noerror: it broke\n');
    const stored = readLines(await getLogChunks(master!.db, out.logid, 0, 1), 0, 1);
    expect(stored.timestamps).to.deep.equal(job.log_timestamps);
    expect((await getRequest(master!.db, out.buildrequestid))).to.include({ complete: 1 });
    expect(Number((await getBuildset(master!.db, out.buildsetid))!.complete)).to.equal(1);
    const props = (await api(`builds/${out.buildid}?property=*`)).builds[0].properties;
    expect(props.ci_url).to.deep.equal(['https://ci.example.org/7', 'Ingest']);

    // The push's row in the grid has the build.
    const push = (await api(`pushes/${pushid}`)).pushes[0];
    expect(push.builds.map((b: { buildid: number }) => b.buildid)).to.include(out.buildid);
    // And the history: the analyzer parses its log as it does ours, into a failure signature.
    const failures = await until(async () => {
      const f = (await api(`builds/${out.buildid}/failures`)).failures as { text: string; signatureid: number }[];
      return f.length > 0 ? f : undefined;
    }, 'the ingested error line in the history');
    expect(failures.map((f) => f.text)).to.deep.equal(['error: it broke']);
    expect((await api(`signatures/${failures[0]!.signatureid}`)).signatures[0].first_buildid).to.equal(out.buildid);

    // A second job of the builder is its build #2, times received stamped on lines without any.
    const t0 = Date.now();
    const second = await post({ builder: 'travis-linux', result: 0, started_at: 1_700_001_000, complete_at: 1_700_001_005, log: 'ok' });
    const two = (await second.json()) as { number: number; logid: number };
    expect(two.number).to.equal(2);
    const ts = readLines(await getLogChunks(master!.db, two.logid, 0, 0), 0, 0).timestamps[0]!;
    expect(ts).to.be.within(t0 - 1000, Date.now() + 1000);
  });

  it('a malformed job is a 400 that says why and stores nothing', async () => {
    const before = await counts();
    const cases: [unknown, RegExp][] = [
      [{ ...job, builder: undefined }, /^builder: /],
      [{ ...job, result: 'green' }, /^result: /],
      [{ ...job, complete_at: 1_600_000_000 }, /complete_at: complete_at is before started_at/],
      [{ ...job, log_timestamps: [1] }, /log_timestamps: has 1 entries for 2 log lines/],
      [{ ...job, colour: 'red' }, /colour/],
      [{ ...job, started_at: 'yesterday' }, /started_at: not a date/],
      [[job], /expected object/i],
    ];
    for (const [body, why] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.match(why);
    }
    const notJson = await fetch(`${base}/api/v2/ingest/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{oops' });
    expect(notJson.status).to.equal(400);
    expect(await counts()).to.deep.equal(before);
  });
});
