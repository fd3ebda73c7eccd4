import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between the master and MariaDB, so a test can take the database away without
 * touching the shared dev server: `cut()` closes every connection and refuses new ones,
 * `restore()` accepts again, `swallowReplies()` lets statements through but drops the answers (a
 * write that applied, whose client never hears of it).
 */
export class DbProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private mode: 'pass' | 'swallow' = 'pass';
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => {
        if (this.mode === 'pass') client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    this.mode = 'pass';
    if (!this.server) await this.listen(this.port);
  }

  swallowReplies(): void {
    this.mode = 'swallow';
  }

  close(): Promise<void> {
    return this.cut();
  }
}
