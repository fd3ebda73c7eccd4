/**
 * A web server on a real database for the data API tests, and the rows they read: a master, two
 * builders (one tagged), a worker configured on one and connected, builds with properties, steps,
 * a log with timestamps, a change in a push, a test result set.
 */
import type { ResolvedConfig } from '../../../lib/config/resolved.js';
import { ForceScheduler } from '../../../lib/config/schedulers.js';
import { validateConfig } from '../../../lib/config/validate.js';
import { findOrCreateBuilder, setBuilderMasters, updateBuilderInfo } from '../../../lib/db/builders.js';
import { addBuildset } from '../../../lib/db/buildsets.js';
import { addBuild, completeBuild, setBuildProperties } from '../../../lib/db/builds.js';
import type { Database } from '../../../lib/db/connection.js';
import { addLog, appendLogChunks, finishLog } from '../../../lib/db/logs.js';
import { findOrCreateMaster, markMasterActive } from '../../../lib/db/masters.js';
import { addPush } from '../../../lib/db/pushes.js';
import { insert } from '../../../lib/db/query.js';
import { addStep, completeStep } from '../../../lib/db/steps.js';
import { findOrCreateWorker, setConfiguredWorkers, workerConnected } from '../../../lib/db/workers.js';
import { encodeChunks } from '../../../lib/logs/chunkCodec.js';
import { silentLogger } from '../../../lib/util/log.js';
import { WwwServer } from '../../../lib/www/app.js';
import type { WwwMaster } from '../../../lib/www/context.js';

export interface Fixture {
  masterid: number;
  b1: number;
  b2: number;
  workerid: number;
  /** b1's builds 1..5 (results 0,2,0,2,null) then b2's build 1. */
  buildids: number[];
  stepid: number;
  logid: number;
  changeid: number;
  pushid: number;
  bsid: number;
  setid: number;
  /** The log's lines and their receive times (ms). */
  lines: string[];
  stamps: number[];
}

export async function seedFixture(db: Database): Promise<Fixture> {
  const masterid = await findOrCreateMaster(db, 'host:/masters/m1', 1000);
  await markMasterActive(db, masterid, 1000);
  const b1 = await findOrCreateBuilder(db, 'linux');
  const b2 = await findOrCreateBuilder(db, 'windows');
  await updateBuilderInfo(db, b1, { description: 'Linux builds', tags: ['os', 'fast'] });
  const bm = await setBuilderMasters(db, masterid, [b1, b2]);
  const workerid = await findOrCreateWorker(db, 'slave1', { os: 'linux' });
  await setConfiguredWorkers(db, bm.get(b1)!, [workerid]);
  await workerConnected(db, workerid, masterid);
  const { pushid, changeids } = await addPush(db, {
    repository: 'https://example.org/repo.git',
    branch: 'main',
    author: 'alice',
    pushed_at: 5000,
    source: 'git',
    changes: [{ author: 'alice', files: ['a.c', 'b.c'], comments: 'fix the thing', revision: 'abc123', branch: 'main', repository: 'https://example.org/repo.git', when_timestamp: 4900 }],
  });
  const changeid = changeids[0];
  const results = [0, 2, 0, 2, null];
  const buildids: number[] = [];
  let bsid = 0;
  for (let i = 0; i < results.length; i++) {
    const bs = await addBuildset(db, {
      sourcestamps: [{ repository: 'https://example.org/repo.git', branch: 'main', revision: 'abc123', codebase: '', project: '' }],
      reason: `reason ${i}`,
      properties: { owner: [`user${i}`, 'Force'] },
      builderids: [b1],
      submitted_at: 2000 + i,
    });
    bsid = bs.bsid;
    const { buildid } = await addBuild(db, { builderid: b1, buildrequestid: bs.brids[b1]!, workerid, masterid, state_string: 'building', started_at: 3000 + i * 10 });
    await setBuildProperties(db, buildid, { buildername: ['linux', 'Builder'], buildnumber: [i + 1, 'Build'], branch: ['main', 'Build'] });
    const r = results[i];
    if (r !== null) await completeBuild(db, buildid, { results: r, completeAt: 3005 + i * 10, stateString: r === 0 ? 'build successful' : 'failed compile' });
    buildids.push(buildid);
  }
  const other = await addBuildset(db, { sourcestamps: [{ repository: 'r2' }], reason: 'w', properties: {}, builderids: [b2], submitted_at: 2100 });
  const { buildid: wb } = await addBuild(db, { builderid: b2, buildrequestid: other.brids[b2]!, workerid: null, masterid, state_string: 'starting', started_at: 3100 });
  buildids.push(wb);

  const { stepid } = await addStep(db, buildids[1], 'compile');
  await completeStep(db, stepid, { results: 2, completeAt: 3016, hidden: false, stateString: 'compile failed' });
  const { logid } = await addLog(db, stepid, 'stdio', 's');
  const lines = ['ohello', 'eerror: it broke', 'hexit 1'];
  const stamps = [1_700_000_000_000, 1_700_000_000_250, 1_700_000_001_000];
  await appendLogChunks(db, logid, encodeChunks(lines, 0, { timestamps: stamps }), lines.length);
  await finishLog(db, logid);

  const { insertId: setid } = await insert(
    db,
    'INSERT INTO test_result_sets (builderid, buildid, stepid, description, category, value_unit, tests_passed, tests_failed, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [b1, buildids[1], stepid, 'unit tests', 'pass_fail', 'boolean', 1, 1, 1],
  );
  const { insertId: nameid } = await insert(db, 'INSERT INTO test_names (builderid, name) VALUES (?, ?)', [b1, 'test_one']);
  await insert(db, 'INSERT INTO test_results (builderid, test_result_setid, test_nameid, line, duration_ns, value) VALUES (?, ?, ?, ?, ?, ?), (?, ?, NULL, NULL, NULL, ?)', [
    b1, setid, nameid, 12, 1500, '1', b1, setid, '0',
  ]);
  return { masterid, b1, b2, workerid, buildids, stepid, logid, changeid, pushid, bsid, setid, lines, stamps };
}

function config(): ResolvedConfig {
  const r = validateConfig(
    {
      www: { port: 0 },
      workers: [{ name: 'slave1', host: 'h', basedir: '/b' }],
      builders: ['linux', 'windows'].map((name) => ({ name, workernames: ['slave1'], steps: [] })),
      schedulers: [new ForceScheduler({ name: 'force', builderNames: ['linux'] })],
    },
    '/tmp',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

/** The web server of a master that has `db`; `get` fetches a path below /api/v2 as JSON. */
export async function startApi(db: Database): Promise<{ server: WwwServer; get: (path: string) => Promise<{ status: number; body: any; text: string; headers: Headers }> }> {
  const master: WwwMaster & { db: Database } = {
    config: config(),
    db,
    builderIds: () => new Map(),
    force: () => Promise.reject(new Error('not in these tests')),
  };
  const server = await WwwServer.start(master, silentLogger(), { host: '127.0.0.1', port: 0 });
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}/api/v2${path}`, { headers: { accept: 'application/json' } });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text, headers: res.headers };
  };
  return { server, get };
}
