import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { ResolvedConfig } from '../../lib/config/resolved.js';
import { validateConfig } from '../../lib/config/validate.js';
import { MessageBus, type Listener, type Pattern } from '../../lib/master/bus.js';
import { silentLogger } from '../../lib/util/log.js';
import { createApp } from '../../lib/www/app.js';
import type { WwwMaster } from '../../lib/www/context.js';

/** A bus that counts live subscriptions, so a test sees a disconnect unsubscribe. */
class CountingBus extends MessageBus {
  live = 0;
  override subscribe(pattern: Pattern, listener: Listener): () => void {
    const off = super.subscribe(pattern, listener);
    this.live++;
    let done = false;
    return () => {
      if (!done) this.live--;
      done = true;
      off();
    };
  }
}

class BusMaster implements WwwMaster {
  readonly config: ResolvedConfig;
  constructor(readonly bus: MessageBus) {
    const r = validateConfig({ www: { port: 0 } }, '/tmp');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    this.config = r.config;
  }
  builderIds(): ReadonlyMap<string, number> {
    return new Map();
  }
  async force(): Promise<never> {
    throw new Error('no');
  }
}

/** An SSE stream read as it comes: `next(pred)` resolves with the first event the predicate accepts. */
class Stream {
  private text = '';
  private waiters: (() => void)[] = [];
  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      this.text += d;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  events(): { event: string; data: string }[] {
    return this.text
      .split('\n\n')
      .filter((b) => b.startsWith('event: '))
      .map((b) => ({ event: b.slice(7, b.indexOf('\n')), data: b.slice(b.indexOf('\ndata: ') + 7) }));
  }
  get raw(): string {
    return this.text;
  }
  async until(pred: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out; got:\n${this.text}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

describe('www: live events (SSE)', function () {
  let server: Server | undefined;
  let bus: CountingBus;
  let port: number;
  const streams: IncomingMessage[] = [];

  async function serve(sse: { keepaliveMs?: number; maxBufferedBytes?: number } = {}): Promise<void> {
    bus = new CountingBus();
    const app = createApp({ master: new BusMaster(bus), logger: silentLogger(), users: [] }, { sse });
    server = createServer(app.callback());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  }
  afterEach(async () => {
    for (const s of streams.splice(0)) s.destroy();
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server!.close(r));
    }
    server = undefined;
  });

  async function open(path: string): Promise<Stream> {
    const req = request({ host: '127.0.0.1', port, path });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    streams.push(res);
    return new Stream(res);
  }

  it('streams the bus events of the topics asked for, Buildbot-shaped, after a handshake', async () => {
    await serve();
    const s = await open('/sse?topic=builds.*.finished&topic=logs/*/append&topic=steps.*.started');
    expect(s.res.statusCode).to.equal(200);
    expect(s.res.headers['content-type']).to.equal('text/event-stream');
    await s.until(() => s.events().length === 1);
    expect(s.events()[0]!.event).to.equal('handshake');
    expect(bus.live).to.equal(3);
    bus.publish(['builds', '1', 'new'], { buildid: 1 });
    bus.publish(['steps', '3', 'started'], { stepid: 3 });
    bus.publish(['steps', '3', 'finished'], { stepid: 3 });
    bus.publish(['builds', '1', 'finished'], { buildid: 1, results: 0 });
    bus.publish(['logs', '7', 'append'], { logid: 7, firstLine: 0, lines: ['ohello'], timestamps: [1700000000123] });
    await s.until(() => s.events().length === 4);
    expect(s.events().slice(1).map((e) => [e.event, JSON.parse(e.data)])).to.deep.equal([
      ['event', { key: ['steps', '3', 'started'], message: { stepid: 3 } }],
      ['event', { key: ['builds', '1', 'finished'], message: { buildid: 1, results: 0 } }],
      ['event', { key: ['logs', '7', 'append'], message: { logid: 7, firstLine: 0, lines: ['ohello'], timestamps: [1700000000123] } }],
    ]);
  });

  it('listen/<path>, add and remove by consumer id, as Buildbot; unknown ids and topics refused', async () => {
    await serve();
    const s = await open('/sse/listen/workers/*/*');
    await s.until(() => s.events().length === 1);
    const cid = s.events()[0]!.data;
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return [res.status, await res.text()];
    };
    expect(await get(`/sse/add/${cid}/buildrequests/*/new`)).to.deep.equal([200, 'ok']);
    bus.publish(['buildrequests', '5', 'new'], { buildrequestid: 5 });
    bus.publish(['workers', '2', 'state_updated'], { workerid: 2, paused: true });
    await s.until(() => s.events().length === 3);
    expect(await get(`/sse/remove/${cid}/buildrequests/*/new`)).to.deep.equal([200, 'ok']);
    expect((await get(`/sse/remove/${cid}/buildrequests/*/new`))[0]).to.equal(404);
    bus.publish(['buildrequests', '6', 'new'], { buildrequestid: 6 });
    bus.publish(['workers', '2', 'state_updated'], { workerid: 2, paused: false });
    await s.until(() => s.events().length === 4);
    expect(s.events().map((e) => (e.event === 'event' ? JSON.parse(e.data).key.join('/') : e.event))).to.deep.equal(['handshake', 'buildrequests/5/new', 'workers/2/state_updated', 'workers/2/state_updated']);
    expect((await get('/sse/add/nosuch/builds/*/*'))[0]).to.equal(400);
    expect((await fetch(`http://127.0.0.1:${port}/sse?topic=secrets.*`)).status).to.equal(404);
  });

  it('sends keep-alive comments and unsubscribes when the client goes away', async () => {
    await serve({ keepaliveMs: 50 });
    const s = await open('/sse/listen/builds/*/*');
    await s.until(() => s.raw.includes(': keepalive\n\n'));
    expect(bus.live).to.equal(1);
    s.res.destroy();
    const deadline = Date.now() + 5000;
    while (bus.live !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(bus.live).to.equal(0);
  });

  it('drops a client that does not read, without slowing the publisher', async () => {
    await serve({ maxBufferedBytes: 256 * 1024 });
    const s = await open('/sse/listen/logs/*/append');
    await s.until(() => s.events().length === 1);
    s.res.pause(); // reads nothing more
    const line = 'x'.repeat(64 * 1024);
    const t0 = process.hrtime.bigint();
    // 64 MiB offered: far more than the socket buffers hold, so the bound must trip.
    for (let i = 0; i < 1024 && bus.live > 0; i++) {
      bus.publish(['logs', '1', 'append'], { logid: 1, firstLine: i, lines: [line], timestamps: [0] });
      if (i % 32 === 0) await new Promise((r) => setImmediate(r));
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(bus.live).to.equal(0);
    expect(ms).to.be.below(10_000);
  });
});
