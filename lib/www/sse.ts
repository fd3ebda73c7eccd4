/**
 * Live events as Server-Sent Events, as Buildbot's www/sse.py: `GET /sse/listen[/<path>]` opens a
 * stream that starts with `event: handshake` (data: the consumer id) and then sends each bus event
 * matching its paths as `event: event` with data `{"key": [...], "message": {...}}`;
 * `GET /sse/add/<id>/<path>` and `/sse/remove/<id>/<path>` change an open stream's paths. Paths are
 * bus patterns with `*` for any element: `builds/*\/*`, `logs/12/append`. Our shorthand:
 * `GET /sse?topic=builds.*.*&topic=logs.*.append` (dots or slashes).
 *
 * A stream never slows the master: events are written to the socket at once, and a client that
 * lets more than `maxBufferedBytes` pile up unread is dropped. A comment line every `keepaliveMs`
 * keeps proxies from closing an idle stream. Closing the stream unsubscribes everything.
 */
import type { Router, RouterContext } from '@koa/router';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { MessageBus, Pattern } from '../master/bus.js';
import type { Logger } from '../util/log.js';
import type { WwwContext } from './context.js';

/** What may be listened to: the data API's event kinds (Buildbot's routing keys, facts §5.4). */
const TOPICS: ReadonlySet<string> = new Set(['builds', 'steps', 'logs', 'workers', 'buildrequests', 'buildsets', 'changes', 'builders', 'masters', 'schedulers', 'pushes']);
export const SSE_KEEPALIVE_MS = 15_000;
export const SSE_MAX_BUFFERED_BYTES = 1 << 20;

export interface SseOptions {
  keepaliveMs?: number;
  maxBufferedBytes?: number;
}

class Consumer {
  private readonly subs = new Map<string, () => void>();
  private closed = false;

  constructor(
    readonly id: string,
    private readonly res: ServerResponse,
    private readonly bus: MessageBus,
    private readonly maxBuffered: number,
    private readonly logger: Logger,
    private readonly onClose: () => void,
  ) {}

  listen(path: string, pattern: Pattern): void {
    if (this.subs.has(path)) return;
    this.subs.set(path, this.bus.subscribe(pattern, (key, message) => this.send('event', JSON.stringify({ key, message }))));
  }

  unlisten(path: string): boolean {
    const off = this.subs.get(path);
    if (!off) return false;
    off();
    this.subs.delete(path);
    return true;
  }

  send(event: string, data: string): void {
    if (this.closed) return;
    if (this.res.writableLength > this.maxBuffered) {
      this.logger.warn({ event: 'www.sseDropped', consumer: this.id, buffered: this.res.writableLength }, 'dropping a live-events client that does not keep up');
      this.close();
      this.res.destroy();
      return;
    }
    this.res.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  comment(text: string): void {
    if (!this.closed && this.res.writableLength <= this.maxBuffered) this.res.write(`: ${text}\n\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.subs.values()) off();
    this.subs.clear();
    this.onClose();
  }

  get subscriptions(): number {
    return this.subs.size;
  }
}

/** `builds/*\/*` or `builds.*.*` → ['builds', '*', '*'], or undefined when not allowed. */
export function parseTopic(text: string): Pattern | undefined {
  const parts = text.split(/[./]/).filter((p) => p !== '');
  if (parts.length === 0 || !TOPICS.has(parts[0]!)) return undefined;
  return parts;
}

/** The open streams of one web server (exposed for tests and shutdown). */
export class SseHub {
  readonly consumers = new Map<string, Consumer>();
}

function busOf(w: WwwContext): MessageBus | undefined {
  return (w.master as { bus?: MessageBus }).bus;
}

function plain(ctx: RouterContext, status: number, text: string): void {
  ctx.status = status;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = text;
}

export function registerSse(router: Router, w: WwwContext, opts: SseOptions = {}): SseHub {
  const hub = new SseHub();
  const keepaliveMs = opts.keepaliveMs ?? SSE_KEEPALIVE_MS;
  const maxBuffered = opts.maxBufferedBytes ?? SSE_MAX_BUFFERED_BYTES;

  const listen = (ctx: RouterContext, pathText: string | undefined) => {
    const bus = busOf(w);
    if (!bus) return plain(ctx, 404, 'not implemented');
    const patterns: [string, Pattern][] = [];
    const texts = [...(pathText ? [pathText] : []), ...[ctx.query.topic ?? []].flat()];
    for (const t of texts) {
      const p = parseTopic(String(t));
      if (!p) return plain(ctx, 404, `cannot listen to '${t}' (topics: ${[...TOPICS].join(', ')})`);
      patterns.push([p.join('/'), p]);
    }
    const res = ctx.res;
    ctx.respond = false; // the stream is ours from here
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const id = randomUUID();
    const timer = setInterval(() => consumer.comment('keepalive'), keepaliveMs);
    timer.unref();
    const consumer = new Consumer(id, res, bus, maxBuffered, w.logger, () => {
      clearInterval(timer);
      hub.consumers.delete(id);
    });
    hub.consumers.set(id, consumer);
    for (const [text, p] of patterns) consumer.listen(text, p);
    consumer.send('handshake', id);
    ctx.req.on('close', () => consumer.close());
    res.on('close', () => consumer.close());
  };

  router.get('/sse', (ctx) => listen(ctx, undefined));
  router.get('/sse/', (ctx) => listen(ctx, undefined));
  router.get('/sse/listen', (ctx) => listen(ctx, undefined));
  router.get('/sse/listen/*path', (ctx) => listen(ctx, ctx.params.path || undefined));

  const change = (add: boolean) => (ctx: RouterContext) => {
    const consumer = hub.consumers.get(ctx.params.id ?? '');
    if (!consumer) return plain(ctx, 400, 'unknown uuid');
    const p = parseTopic(ctx.params.path ?? '');
    if (!p) return plain(ctx, 404, 'not implemented');
    if (add) consumer.listen(p.join('/'), p);
    else if (!consumer.unlisten(p.join('/'))) return plain(ctx, 404, 'consumer is not listening to this event');
    plain(ctx, 200, 'ok');
  };
  router.get('/sse/add/:id/*path', change(true));
  router.get('/sse/remove/:id/*path', change(false));
  return hub;
}
