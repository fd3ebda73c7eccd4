/**
 * The web server: a koa app on config.www (127.0.0.1:8010 by default) serving the data API under
 * /api/v2 — for now the root links and the force schedulers (GET, and the JSON-RPC `force`). One
 * route file per resource in routes/.
 */
import { createServer, type Server } from 'node:http';
import { Router } from '@koa/router';
import Koa from 'koa';
import type { Logger } from '../util/log.js';
import { mountApi } from './api/index.js';
import { configuredUsers, type WwwContext, type WwwMaster } from './context.js';
import { registerChangeHooks } from './routes/changeHook.js';
import { registerForceSchedulers, ROOT_LINK as FORCESCHEDULERS } from './routes/forceschedulers.js';
import { registerRoot } from './routes/root.js';
import { registerTry } from './routes/try.js';

export function createApp(w: WwwContext): Koa {
  const app = new Koa({ proxy: false });
  const router = new Router();
  registerRoot(router, [FORCESCHEDULERS]);
  registerForceSchedulers(router, w);
  registerChangeHooks(router, w);
  registerTry(router, w);
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      const expose = (err as { expose?: boolean }).expose ?? status < 500;
      if (status >= 500) w.logger.error({ event: 'www.requestFailed', path: ctx.path, err: (err as Error).stack ?? String(err) }, 'request failed');
      ctx.status = status;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ error: expose ? (err as Error).message : 'internal error' });
    }
  });
  // The data API answers GET/HEAD under /api/v2 before the routes (which keep the POST controls).
  mountApi(app, w);
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.on('error', () => {
    // Already answered and logged by the middleware above; koa would print it to stderr otherwise.
  });
  return app;
}

/** The running web server; `stop()` closes it and every open connection. */
export class WwwServer {
  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(master: WwwMaster, logger: Logger, opts: { host?: string; port?: number } = {}): Promise<WwwServer> {
    const log = logger.child({ component: 'www' });
    const users = configuredUsers(master.config);
    const host = opts.host ?? master.config.www.host;
    const app = createApp({ master, logger: log, users });
    const server = createServer(app.callback());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? master.config.www.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as { port: number }).port;
    log.info({ event: 'www.listening', host, port }, `web server listening on http://${host.includes(':') ? `[${host}]` : host}:${port}/`);
    if (users.length === 0) {
      log.warn({ event: 'www.noUsers' }, 'no www.users configured: control requests (force) are accepted only from this machine, without credentials');
    }
    return new WwwServer(server, host, port);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
