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
import type { WwwContext, WwwMaster } from './context.js';
import { registerChangeHooks } from './routes/changeHook.js';
import { registerForceSchedulers, ROOT_LINK as FORCESCHEDULERS } from './routes/forceschedulers.js';
import { registerRoot } from './routes/root.js';
import { registerTry } from './routes/try.js';
import { AuthService, tryUsers } from './auth.js';
import { registerControl } from './control/index.js';
import { registerIngest } from './ingest.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerSse, type SseOptions } from './sse.js';
import { secretsLookup } from '../master/secrets.js';
import { serveUi } from './static.js';
import { registerClassify } from './classify.js';
import { registerKnownIssueControls } from './api/extensions/history/knownIssuesControl.js';
import { suggestionsModule } from './api/extensions/suggestions.js';

export function createApp(w: WwwContext, opts: { auth?: AuthService; sse?: SseOptions } = {}): Koa {
  const app = new Koa({ proxy: false });
  const router = new Router();
  const auth = opts.auth ?? new AuthService(w.master.config, secretsLookup(w.master.config.secrets ?? { values: {} }));
  registerAuthRoutes(router, auth);
  registerControl(router, w);
  registerSse(router, w, opts.sse);
  registerIngest(router, w);
  registerClassify(router, w);
  registerKnownIssueControls(router, w);
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
      for (const [k, v] of Object.entries((err as { headers?: Record<string, string> }).headers ?? {})) ctx.set(k, v);
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ error: expose ? (err as Error).message : 'internal error' });
    }
  });
  // Who is asking, before anything answers (lib/www/auth.ts).
  app.use(auth.middleware());
  // The data API answers GET/HEAD under /api/v2 before the routes (which keep the POST controls).
  mountApi(app, w, [suggestionsModule]);
  app.use(router.routes());
  app.use(router.allowedMethods());
  // The web UI (static files, index.html for its routes, /config): only what nothing above answered.
  app.use(serveUi(w));
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
    const auth = new AuthService(master.config, secretsLookup(master.config.secrets), { currentConfig: () => master.config });
    const host = opts.host ?? master.config.www.host;
    // Read per request: a reconfig may change the users (auth.ts follows the master's config).
    const context: WwwContext = {
      master,
      logger: log,
      get users() {
        auth.refresh();
        return tryUsers(auth);
      },
    };
    const app = createApp(context, { auth });
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
    for (const warning of auth.warnings(master.config)) log.warn({ event: 'www.authWarning' }, warning);
    return new WwwServer(server, host, port);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
