/**
 * Serving the UI (lib/www/static.ts) on a real koa server over HTTP: hashed assets cached for a
 * year, index.html (revalidated) for the app's routes only, the server's own paths left alone,
 * no escape from the assets folder, GET /config, and a clear 503 when the UI was not built.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import type { WwwContext } from '../../lib/www/context.js';
import { defaultUiDir, serveUi } from '../../lib/www/static.js';

const INDEX = '<!doctype html><title>t</title><script type="module" src="/assets/app-ABC.js"></script>';

describe('web UI static serving (lib/www/static.ts)', function () {
  let dir: string;
  let server: Server | undefined;
  let base: string;

  async function start(uiDir: string): Promise<void> {
    const app = new Koa();
    // Stand-in for the API and routes mounted before the UI.
    app.use(async (ctx, next) => {
      if (ctx.path === '/api/v2/builds') ctx.body = { builds: [] };
      else await next();
    });
    const w = { master: { config: { title: 'My CI' } }, logger: undefined, users: [] } as unknown as WwwContext;
    app.use(serveUi(w, { dir: uiDir }));
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bm-ui-static-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'app-ABC.js'), 'console.log(1);');
    await writeFile(join(dir, 'secret.txt'), 'not an asset');
  });

  afterEach(async () => {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('serves hashed assets as immutable and index.html, revalidated, for every app route', async () => {
    await start(dir);
    const js = await fetch(`${base}/assets/app-ABC.js`);
    expect([js.status, js.headers.get('content-type'), js.headers.get('cache-control'), await js.text()]).to.deep.equal([
      200,
      'text/javascript; charset=utf-8',
      'public, max-age=31536000, immutable',
      'console.log(1);',
    ]);
    for (const path of ['/', '/builders', '/builders/3', '/builds/12', '/trends?builderid=1', '/failures']) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status, res.headers.get('content-type'), res.headers.get('cache-control'), await res.text()]).to.deep.equal([path, 200, 'text/html; charset=utf-8', 'no-cache', INDEX]);
    }
    const head = await fetch(`${base}/assets/app-ABC.js`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).to.deep.equal([200, '15']);
  });

  it('leaves the server paths, missing files and anything outside assets/ alone (404)', async () => {
    await start(dir);
    expect(await (await fetch(`${base}/api/v2/builds`)).json()).to.deep.equal({ builds: [] });
    for (const path of ['/api/v2/nothing', '/assets/app-XYZ.js', '/assets/..%2fsecret.txt', '/assets/%2e%2e/secret.txt', '/secret.txt', '/auth/nothing', '/sse/nothing', '/change_hook/x']) {
      const res = await fetch(`${base}${path}`);
      const text = await res.text();
      expect([path, res.status], text).to.deep.equal([path, 404]);
      expect(text).to.not.include('not an asset');
    }
    const post = await fetch(`${base}/builders`, { method: 'POST' });
    expect(post.status).to.equal(404);
  });

  it('answers GET /config with the title and an anonymous user', async () => {
    await start(dir);
    const res = await fetch(`${base}/config`);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).to.deep.include({ title: 'My CI', user: { anonymous: true }, auth: { loginConfigured: false } });
    expect(body.buildbotURL).to.equal(`${base}/`);
  });

  it('finds dist/www of this package by default', () => {
    expect(defaultUiDir()).to.equal(join(process.cwd(), 'dist', 'www'));
  });

  it('says how to build the UI when it was not built (503), and picks up a new build without a restart', async () => {
    await rm(join(dir, 'index.html'));
    await start(dir);
    const res = await fetch(`${base}/builders`);
    expect(res.status).to.equal(503);
    expect(await res.text()).to.include('npm run build');
    await writeFile(join(dir, 'index.html'), INDEX);
    expect(await (await fetch(`${base}/builders`)).text()).to.equal(INDEX);
  });
});
