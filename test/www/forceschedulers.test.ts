import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { ResolvedConfig, ResolvedForceScheduler } from '../../lib/config/resolved.js';
import { ForceScheduler } from '../../lib/config/schedulers.js';
import { validateConfig } from '../../lib/config/validate.js';
import { prepareForce, type ForceArgs } from '../../lib/schedulers/forceScheduler.js';
import { silentLogger } from '../../lib/util/log.js';
import { WwwServer } from '../../lib/www/app.js';
import { isLoopback, passwordMatches, type WwwUser } from '../../lib/www/auth.js';
import type { WwwMaster } from '../../lib/www/context.js';

/** A master that validates forces for real (prepareForce) and records them instead of building. */
class RecordingMaster implements WwwMaster {
  readonly config: ResolvedConfig;
  readonly calls: { name: string; args: ForceArgs }[] = [];
  constructor(users: WwwUser[]) {
    const r = validateConfig(
      {
        www: { port: 0 },
        workers: [{ name: 'w', host: 'h', basedir: '/b' }],
        builders: ['a', 'b'].map((name) => ({ name, workernames: ['w'], steps: [] })),
        schedulers: [new ForceScheduler({ name: 'force', builderNames: ['a', 'b'] })],
      },
      '/tmp',
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    // www.users is read as optional until the config schema has it.
    this.config = { ...r.config, www: { ...r.config.www, users } } as ResolvedConfig;
  }
  builderIds(): ReadonlyMap<string, number> {
    return new Map([['a', 1], ['b', 2]]);
  }
  async force(name: string, args: ForceArgs) {
    const sched = this.config.schedulers.find((s) => s.name === name) as ResolvedForceScheduler;
    const prepared = prepareForce(sched, args, (id) => [...this.builderIds()].find(([, v]) => v === id)?.[0]);
    this.calls.push({ name, args });
    return { bsid: 41, brids: Object.fromEntries(prepared.builderNames.map((n) => [this.builderIds().get(n)!, 100 + this.builderIds().get(n)!])) };
  }
}

describe('www: /api/v2 and the JSON-RPC force', function () {
  let server: WwwServer | undefined;
  let master: RecordingMaster;

  async function serve(users: WwwUser[] = []): Promise<string> {
    master = new RecordingMaster(users);
    server = await WwwServer.start(master, silentLogger(), { host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${server.port}`;
  }
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  function rpc(base: string, body: unknown, headers: Record<string, string> = {}, name = 'force') {
    return fetch(`${base}/api/v2/forceschedulers/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }
  const force = (params: Record<string, unknown> = {}, id: unknown = 1) => ({ jsonrpc: '2.0', method: 'force', id, params });
  const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });

  it('forces from this machine without credentials when no users are configured, answering as Buildbot', async () => {
    const base = await serve();
    const res = await rpc(base, force({ builderNames: ['b'], reason: 'because', username: 'A <a@example.org>', branch: 'dev', owner: 'forged' }, 'x1'));
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(await res.text()).to.equal('{"id":"x1","jsonrpc":"2.0","result":[41,{"2":102}]}');
    // The server, not the caller, says who forced: anonymous, so the form's username counts.
    expect(master.calls[0].args).to.deep.include({ builderNames: ['b'], owner: 'anonymous' });
    expect(master.calls[0].args.fields).to.deep.equal({ reason: 'because', username: 'A <a@example.org>', branch: 'dev' });
  });

  it('answers malformed calls with Buildbot\'s JSON-RPC errors', async () => {
    const base = await serve();
    const cases: [unknown, Record<string, string>, number, number, string | RegExp, unknown?][] = [
      [force(), { 'content-type': 'text/plain' }, 400, -32600, 'Invalid content-type (use application/json)'],
      ['{not json', {}, 400, -32700, /^JSON parse error: /],
      [[force()], {}, 400, -32600, 'JSONRPC batch requests are not supported'],
      [{ jsonrpc: '2.0', id: 3, params: {} }, {}, 400, -32600, "missing key 'method'"],
      [{ jsonrpc: '1.0', method: 'force', id: 4, params: {} }, {}, 400, -32600, 'only JSONRPC 2.0 is supported', 4],
      [{ jsonrpc: '2.0', method: 'force', id: 5, params: [] }, {}, 400, -32600, "'params' must be an object", 5],
      [{ jsonrpc: '2.0', method: 'stop', id: 6, params: {} }, {}, 501, -32601, 'action: stop is not supported', 6],
      [force({ builderNames: 'a' }, 7), {}, 400, -32602, 'builderNames must be a list of strings', 7],
    ];
    for (const [body, headers, status, code, message, id] of cases) {
      const res = await rpc(base, body, headers);
      const reply = (await res.json()) as { id?: unknown; error: { code: number; message: string } };
      expect(res.status, JSON.stringify(body)).to.equal(status);
      expect(reply.error.code, JSON.stringify(body)).to.equal(code);
      if (typeof message === 'string') expect(reply.error.message).to.equal(message);
      else expect(reply.error.message).to.match(message);
      if (id !== undefined) expect(reply.id).to.equal(id);
    }
    const unknown = await rpc(base, force(), {}, 'nosuch');
    expect(unknown.status).to.equal(404);
    expect(((await unknown.json()) as { error: { code: number } }).error.code).to.equal(-32600);
    expect(master.calls).to.deep.equal([]);
  });

  it('reports invalid force arguments per field with -32602', async () => {
    const base = await serve();
    const bad = await rpc(base, force({ username: 'no email here' }, 9));
    expect(bad.status).to.equal(400);
    expect(await bad.json()).to.deep.equal({
      jsonrpc: '2.0',
      id: 9,
      error: { code: -32602, message: { username: "username: please fill in email address in the form 'User <email@email.com>'" } },
    });
    const none = await rpc(base, force({ builderNames: ['zzz'] }, 10));
    expect(((await none.json()) as { error: { code: number; message: Record<string, string> } }).error).to.deep.equal({
      code: -32602,
      message: { builderNames: 'builderNames not specified or not supported' },
    });
  });

  it('requires HTTP Basic credentials of a configured user, and forces as that user', async () => {
    const hashed = `sha256:${createHash('sha256').update('s3cret').digest('hex')}`;
    const base = await serve([{ username: 'alice', password: 'wonderland' }, { username: 'bob', password: hashed }]);
    const anonymous = await rpc(base, force());
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('www-authenticate')).to.match(/^Basic realm="buildmaster"/);
    expect(((await anonymous.json()) as { error: { code: number } }).error.code).to.equal(-32600);
    expect((await rpc(base, force(), basic('alice', 'wrong'))).status).to.equal(401);
    expect((await rpc(base, force(), basic('mallory', 'wonderland'))).status).to.equal(401);
    expect(master.calls).to.deep.equal([]);

    const alice = await rpc(base, force({ reason: 'r' }), basic('alice', 'wonderland'));
    expect(alice.status).to.equal(200);
    const bob = await rpc(base, force({ reason: 'r' }), basic('bob', 's3cret'));
    expect(bob.status).to.equal(200);
    expect(master.calls.map((c) => c.args.owner)).to.deep.equal(['alice', 'bob']);
  });

  it('serves the root links and the force schedulers', async () => {
    const base = await serve();
    const root = await fetch(`${base}/api/v2`, { headers: { accept: 'application/json' } });
    const rootBody = (await root.json()) as { rootlinks: { name: string }[]; meta: { total: number } };
    expect(rootBody.rootlinks).to.deep.include({ name: 'forceschedulers' });
    expect(rootBody.meta.total).to.equal(rootBody.rootlinks.length);
    const pretty = await fetch(`${base}/api/latest`);
    expect(pretty.headers.get('content-type')).to.match(/^text\/plain/);
    expect(JSON.parse(await pretty.text())).to.deep.equal(rootBody);
    const list = (await (await fetch(`${base}/api/v2/forceschedulers`, { headers: { accept: 'application/json' } })).json()) as {
      forceschedulers: { name: string; builder_names: string[]; all_fields: { fields?: { fullName: string }[] }[] }[];
      meta: { total: number };
    };
    expect(list.meta.total).to.equal(1);
    expect(list.forceschedulers[0]).to.include({ name: 'force' });
    expect(list.forceschedulers[0].builder_names).to.deep.equal(['a', 'b']);
    expect(list.forceschedulers[0].all_fields[0].fields!.map((f) => f.fullName)).to.deep.equal(['username', 'reason']);
    expect(list.forceschedulers[0].all_fields[1].fields!.map((f) => f.fullName)).to.deep.equal(['branch', 'project', 'repository', 'revision']);
    expect((await fetch(`${base}/api/v2/forceschedulers/nosuch`)).status).to.equal(404);
  });

  it('knows loopback addresses and both password forms', function () {
    for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a), a).to.equal(true);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '', undefined]) expect(isLoopback(a), String(a)).to.equal(false);
    expect(passwordMatches('pw', 'pw')).to.equal(true);
    expect(passwordMatches('pw', 'pw2')).to.equal(false);
    expect(passwordMatches(`sha256:${createHash('sha256').update('pw').digest('hex').toUpperCase()}`, 'pw')).to.equal(true);
  });
});
