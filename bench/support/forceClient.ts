/**
 * The benchmark's HTTP client: one keep-alive connection, one request at a time (bench.py's Client),
 * for the force JSON-RPC and REST GETs.
 */
import { Agent, request } from 'node:http';

export interface ForceReply {
  bsid: number;
  /** builderid → brid */
  brids: Record<number, number>;
}

export class RestClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly port: number,
    private readonly headers: Record<string, string> = {},
  ) {}

  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: { Accept: 'application/json', ...this.headers, ...headers, ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }) },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async getJson<T>(path: string): Promise<T> {
    const res = await this.request('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path} -> ${res.status} ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as T;
  }

  /** `POST /api/v2/forceschedulers/NAME` with Buildbot's JSON-RPC body; one buildset per call. */
  async force(scheduler: string, builderNames: string[], id: number): Promise<ForceReply> {
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'force', id, params: { builderNames } });
    const res = await this.request('POST', `/api/v2/forceschedulers/${encodeURIComponent(scheduler)}`, body, {
      'Content-Type': 'application/json',
    });
    if (res.status !== 200) throw new Error(`force -> ${res.status} ${res.body.slice(0, 300)}`);
    const reply = JSON.parse(res.body) as { result?: [number, Record<string, number>]; error?: unknown };
    if (!reply.result) throw new Error(`force -> ${res.body.slice(0, 300)}`);
    const [bsid, brids] = reply.result;
    return { bsid, brids: Object.fromEntries(Object.entries(brids).map(([k, v]) => [Number(k), v])) };
  }

  close(): void {
    this.agent.destroy();
  }
}
