import type { Router, RouterContext } from '@koa/router';
import { sendData } from './data.js';

/** `GET /api/v2` (and `/api/latest`): the resources served, Buildbot's rootlinks. */
export function registerRoot(router: Router, rootLinks: readonly string[]): void {
  const handler = (ctx: RouterContext) => {
    sendData(ctx, { rootlinks: rootLinks.map((name) => ({ name })), meta: { total: rootLinks.length } });
  };
  router.get('/api/v2', handler);
  router.get('/api/latest', handler);
}
