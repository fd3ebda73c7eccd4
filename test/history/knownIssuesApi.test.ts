import { Router } from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateConfig } from '../../lib/config/validate.js';
import type { Database } from '../../lib/db/connection.js';
import { getSignature, listSignatures } from '../../lib/history/failures.js';
import { syncConfiguredKnownIssues } from '../../lib/history/knownIssues.js';
import { recordStepFailures } from '../../lib/history/signatures.js';
import { silentLogger } from '../../lib/util/log.js';
import { registerKnownIssueControls } from '../../lib/www/api/extensions/history/knownIssuesControl.js';
import { mountApi } from '../../lib/www/api/index.js';
import { AuthService } from '../../lib/www/auth.js';
import type { WwwContext, WwwMaster } from '../../lib/www/context.js';
import { forEachDialect } from '../support/databases.js';
import { buildOf, seedHistory, type HistorySeed } from './failureSeed.js';

const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const ANN = basic('ann', 'annpw');
const BOB = basic('bob', 'bobpw');

/**
 * Known-issue rules added, changed and deleted over HTTP (JSON-RPC POSTs), on a koa app with the
 * web server's auth and data API and the known-issue controls as lib/www/app.ts mounts them.
 */
forEachDialect('known issues through the REST API', (h) => {
  let db: Database;
  let s: HistorySeed;
  let server: Server | undefined;
  let base: string;

  beforeEach(async () => {
    db = await h.open();
    s = await seedHistory(db);
    const r = validateConfig({ www: { port: 0, auth: { users: [
      { username: 'ann', password: 'annpw', roles: ['classify'] },
      { username: 'bob', password: 'bobpw', roles: [] },
    ] } } }, '/tmp');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const master: WwwMaster & { db: Database } = { config: r.config, db, builderIds: () => new Map(), force: () => Promise.reject(new Error('not here')) };
    const w: WwwContext = { master, logger: silentLogger(), users: [] };
    const app = new Koa();
    const router = new Router();
    registerKnownIssueControls(router, w);
    app.use(new AuthService(r.config).middleware());
    mountApi(app, w);
    app.use(router.routes());
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  let rpcId = 0;
  async function rpc(path: string, method: string, params: Record<string, unknown>, headers: Record<string, string> = ANN) {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++rpcId }),
    });
    return { status: res.status, body: (await res.json()) as { result?: any; error?: { code: number; message: string } } };
  }
  const get = async (path: string) => (await (await fetch(`${base}${path}`)).json()) as any;

  async function fail(at: number, text: string): Promise<number> {
    const { buildid, stepid } = await buildOf(db, s, { workerid: s.workers[0]!, startedAt: at });
    await recordStepFailures(db, { buildid, stepid, logid: null, builderid: s.builderid, workerid: s.workers[0]!, branch: 'main', revision: null, at }, [{ line: 1, text }]);
    return (await listSignatures(db, { order: 'lastSeen', limit: 1 })).signatures[0]!.id;
  }

  it('adds a rule that labels recorded and later failures, changes it, deletes it (labels taken off)', async () => {
    const old = await fail(1000, 'FATAL: Out of Memory allocating 4096 bytes');
    const added = await rpc('/known_issues', 'add', { title: 'OOM', url: 'https://bugs.example.com/7', pattern: 'out of memory', flags: 'i', builders: ['linux'] });
    expect(added.status, JSON.stringify(added.body)).to.equal(200);
    const id = added.body.result.known_issueid;
    expect(added.body.result).to.deep.include({ title: 'OOM', url: 'https://bugs.example.com/7', pattern: '/out of memory/i', builders: ['linux'], source: 'api', active: true, created_by: 'ann' });
    expect((await get(`/known_issues/${id}`)).known_issues[0].title).to.equal('OOM');
    // Applied to what was already recorded, and to what comes next.
    expect(await getSignature(db, old)).to.include({ knownIssueId: id, classifiedBy: 'rule' });
    const later = await fail(2000, 'ld: cannot find -lssl');
    expect((await getSignature(db, later))!.knownIssueId).to.equal(null);

    const changed = await rpc(`/known_issues/${id}`, 'update', { title: 'OOM killer', url: null });
    expect(changed.body.result).to.deep.include({ known_issueid: id, title: 'OOM killer', url: null, pattern: '/out of memory/i' });
    const bySignature = await rpc('/known_issues', 'add', { title: 'no libssl', signature: 'ld: cannot find -lssl' });
    expect(await getSignature(db, later)).to.include({ knownIssueId: bySignature.body.result.known_issueid });

    expect((await rpc(`/known_issues/${id}`, 'delete', {})).body).to.deep.equal({ jsonrpc: '2.0', id: rpcId, result: null });
    expect(await getSignature(db, old)).to.include({ knownIssueId: null, classifiedBy: null });
    expect((await get('/known_issues')).known_issues.map((k: { title: string }) => k.title)).to.deep.equal(['no libssl']);
    expect((await rpc(`/known_issues/${id}`, 'delete', {})).status).to.equal(404);
  });

  it('needs the classify role; says what is wrong with a rule; refuses to change a config rule', async () => {
    expect((await rpc('/known_issues', 'add', { title: 'x', pattern: 'x' }, {})).status).to.equal(401);
    expect((await rpc('/known_issues', 'add', { title: 'x', pattern: 'x' }, BOB)).status).to.equal(403);
    const bad = async (params: Record<string, unknown>) => {
      const r = await rpc('/known_issues', 'add', params);
      expect(r.status, JSON.stringify(params)).to.equal(400);
      return r.body.error!.message;
    };
    expect(await bad({ title: 'x' })).to.match(/needs a pattern or a signature/);
    expect(await bad({ pattern: 'x' })).to.match(/a title is required/);
    expect(await bad({ title: 'x', pattern: '(' })).to.match(/invalid pattern "\("/);
    expect(await bad({ title: 'x', pattern: 'x', flags: 'g' })).to.match(/flags may only hold/);
    expect(await bad({ title: 'x', pattern: 'x', builders: 'linux' })).to.match(/builders must be a list/);
    expect(await bad({ title: 'x', patern: 'x' })).to.match(/unknown parameter 'patern'/);
    expect((await rpc('/known_issues', 'remove', {})).status).to.equal(501);
    expect((await rpc('/known_issues/999', 'update', { title: 'y' })).status).to.equal(404);

    await syncConfiguredKnownIssues(db, [{ title: 'from config', pattern: 'c' }]);
    const [cfg] = (await get('/known_issues')).known_issues;
    const refused = await rpc(`/known_issues/${cfg.known_issueid}`, 'update', { title: 'y' });
    expect(refused.status).to.equal(409);
    expect(refused.body.error!.message).to.match(/comes from the config/);
    expect((await rpc(`/known_issues/${cfg.known_issueid}`, 'delete', {})).status).to.equal(409);
  });
});
