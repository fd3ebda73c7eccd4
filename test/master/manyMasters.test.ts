import { expect } from 'chai';
import { join } from 'node:path';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { addBuildset } from '../../lib/db/buildsets.js';
import type { Database } from '../../lib/db/connection.js';
import { select } from '../../lib/db/query.js';
import { SUCCESS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { until } from './masterDir.js';
import { MasterCluster } from './masterProcs.js';

/**
 * Issue 5's acceptance test: three `buildmaster start --nodaemon` processes on one database (a
 * MariaDB schema, then one sqlite file), 1,000 requests over 4 builders and 6 slave users of a real
 * sshd, builds `true`. Every request is built exactly once: no request has two successful builds
 * (zero duplicates) and every request completes SUCCESS (zero stranded).
 */
const REQUESTS = 1000;
const BUILDERS = ['b0', 'b1', 'b2', 'b3'];

forEachDialect('multi-master: 3 master processes, 1,000 requests, 4 builders, 6 slave users', (h) => {
  let sshd: Sshd | undefined;
  let cluster: MasterCluster | undefined;

  before(async function () {
    this.timeout(60_000);
    sshd = await startSshd(this, { users: 6 });
  });

  after(async function () {
    this.timeout(60_000);
    await sshd?.stop();
  });

  afterEach(async function () {
    this.timeout(60_000);
    if (this.currentTest?.state === 'failed') cluster?.dump();
    await cluster?.stopAll();
    cluster = undefined;
  });

  it('builds every request exactly once: zero duplicate builds, zero stranded requests', async function () {
    this.timeout(300_000);
    const db = await h.open();
    const dbUrl = h.dialect === 'sqlite' ? `sqlite:///${join(h.basedir(), 'state.sqlite')}` : h.url();
    // Each master drives two of the six slave hosts (a host is driven by one master at a time), and
    // every master's 4 builders take the same requests: all three distributors race for each one.
    cluster = new MasterCluster({
      dbUrl, sshd: sshd!, builders: BUILDERS, command: 'true', heartbeatInterval: 2, deadMasterTimeout: 60,
      workersOf: (i) => [2 * i, 2 * i + 1],
    });
    const procs = await Promise.all([cluster.add(), cluster.add(), cluster.add()]);
    const masterids = await Promise.all(procs.map((p) => cluster!.masterId(db, p)));
    expect(new Set(masterids).size).to.equal(3);
    const builderids = await Promise.all(BUILDERS.map((b) => findOrCreateBuilder(db, b)));

    // In bursts while the masters run, so their distributors race for the same requests.
    const started = Date.now();
    for (let i = 0; i < REQUESTS; i++) {
      await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: `r${i}`, properties: {}, builderids: [builderids[i % BUILDERS.length]!] });
      if (i % 250 === 249) await new Promise((r) => setTimeout(r, 200));
    }
    await until(async () => {
      const [row] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM buildrequests WHERE complete = 0');
      return Number(row!.n) === 0;
    }, 'every request to complete', 240_000, 500);
    const seconds = (Date.now() - started) / 1000;

    const requests = await select<{ id: number; results: number }>(db, 'SELECT id, results FROM buildrequests');
    expect(requests).to.have.length(REQUESTS);
    expect(requests.filter((r) => r.results !== SUCCESS), 'requests not SUCCESS').to.deep.equal([]);
    const duplicates = await select<{ buildrequestid: number; n: number }>(
      db,
      'SELECT buildrequestid, COUNT(*) AS n FROM builds WHERE results = ? GROUP BY buildrequestid HAVING COUNT(*) > 1',
      [SUCCESS],
    );
    expect(duplicates, 'requests with two successful builds').to.deep.equal([]);
    const built = await select<{ buildrequestid: number }>(db, 'SELECT DISTINCT buildrequestid FROM builds WHERE results = ?', [SUCCESS]);
    expect(built).to.have.length(REQUESTS);
    // Not even a failed or retried second build: one build row per request.
    const [total] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM builds');
    expect(Number(total!.n), 'builds in all').to.equal(REQUESTS);
    const unfinished = await select<{ id: number }>(db, 'SELECT id FROM builds WHERE complete_at IS NULL');
    expect(unfinished).to.deep.equal([]);

    const perMaster = await select<{ masterid: number; n: number }>(db, 'SELECT masterid, COUNT(*) AS n FROM builds GROUP BY masterid ORDER BY masterid');
    expect(perMaster.map((r) => Number(r.masterid)).sort(), 'every master built').to.deep.equal([...masterids].sort());
    process.stderr.write(`      [${h.dialect}] ${REQUESTS} requests in ${seconds.toFixed(1)} s; builds per master: ${perMaster.map((r) => `${r.masterid}:${r.n}`).join(' ')}\n`);
  });
});
