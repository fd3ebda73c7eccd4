/**
 * Live events (GET /sse/listen, Buildbot's protocol): one stream per page, opened when the page
 * first needs it; paths are added to it with GET /sse/add/<consumer>/<path> (a log's appends, …).
 * When the stream cannot be opened, `listen` resolves false and the page keeps polling the API.
 */

type Handler = (key: string[], message: unknown) => void;

export class LiveEvents {
  private source: EventSource | undefined;
  private consumer: Promise<string | undefined> | undefined;
  private readonly handlers = new Map<string, Handler>();
  private closed = false;

  private open(): Promise<string | undefined> {
    if (this.consumer) return this.consumer;
    if (typeof EventSource === 'undefined') return (this.consumer = Promise.resolve(undefined));
    const source = new EventSource('/sse/listen');
    this.source = source;
    this.consumer = new Promise((resolve) => {
      source.addEventListener('handshake', (e) => resolve((e as MessageEvent<string>).data));
      // Before the handshake: no live events here. After it: the browser reconnects with a new
      // consumer that listens to nothing, so stop it; the page's poll carries on alone.
      source.addEventListener('error', () => {
        resolve(undefined);
        source.close();
      });
    });
    source.addEventListener('event', (e) => {
      let data: { key: string[]; message: unknown };
      try {
        data = JSON.parse((e as MessageEvent<string>).data) as typeof data;
      } catch {
        return;
      }
      this.handlers.get(data.key.join('/'))?.(data.key, data.message);
    });
    return this.consumer;
  }

  /** Receive the events of one exact path (e.g. `logs/12/append`); false when there is no stream. */
  async listen(path: string, handler: Handler): Promise<boolean> {
    if (this.closed) return false;
    const id = await this.open();
    if (!id || this.closed) return false;
    const res = await fetch(`/sse/add/${encodeURIComponent(id)}/${path}`).catch(() => undefined);
    if (!res?.ok) return false;
    this.handlers.set(path, handler);
    return true;
  }

  close(): void {
    this.closed = true;
    this.handlers.clear();
    this.source?.close();
  }
}
