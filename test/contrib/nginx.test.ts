import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, until } from '../master/masterDir.js';

const run = promisify(execFile);
const NGINX = '/usr/sbin/nginx';
const CONF = fileURLToPath(new URL('../../contrib/nginx/buildmaster.conf', import.meta.url));

/**
 * contrib/nginx/buildmaster.conf in a real nginx (its ports, certificate and upstream changed to
 * throwaway ones): it passes `nginx -t`, and a server-sent event reaches the client through TLS
 * while the stream is still open (proxy_buffering off). Skipped where nginx is not installed.
 */
describe('contrib nginx example (real nginx)', function () {
  this.timeout(60_000);
  let dir: string;
  let nginx: ChildProcess | undefined;
  let backend: Server | undefined;
  const streams: ServerResponse[] = [];

  before(function () {
    if (!existsSync(NGINX)) this.skip();
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.end();
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGTERM');
      await gone;
    }
    nginx = undefined;
    await new Promise((r) => (backend ? backend.close(r) : r(undefined)));
    backend = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setUp(): Promise<{ config: string; httpsPort: number; backendPort: number }> {
    dir = await mkdtemp(join(tmpdir(), 'bm-nginx-'));
    await chmod(dir, 0o755);
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, d), { mode: 0o777 });
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=ci.example.org', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const [httpPort, httpsPort, backendPort] = [await freePort(), await freePort(), await freePort()];
    const site = (await readFile(CONF, 'utf8'))
      .replace('server 127.0.0.1:8010;', `server 127.0.0.1:${backendPort};`)
      .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
      .replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
      .replace(/ssl_certificate +\S+;/, `ssl_certificate ${join(dir, 'cert.pem')};`)
      .replace(/ssl_certificate_key +\S+;/, `ssl_certificate_key ${join(dir, 'key.pem')};`);
    expect(site).to.contain(`127.0.0.1:${backendPort}`).and.contain(`127.0.0.1:${httpsPort} ssl`);
    await writeFile(join(dir, 'site.conf'), site);
    const config = join(dir, 'nginx.conf');
    await writeFile(
      config,
      `daemon off;\nmaster_process off;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} warn;\nevents { worker_connections 64; }\n` +
        `http {\n  access_log off;\n${['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((d) => `  ${d === 'body' ? 'client_body' : d}_temp_path ${join(dir, d)};`).join('\n')}\n  include ${join(dir, 'site.conf')};\n}\n`,
    );
    return { config, httpsPort, backendPort };
  }

  it('passes nginx -t and streams server-sent events without buffering them', async () => {
    const { config, httpsPort, backendPort } = await setUp();
    const t = await run(NGINX, ['-t', '-c', config]);
    expect(t.stderr).to.contain('test is successful');

    backend = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`data: {"path":"${req.url}"}\n\n`); // and then the stream stays open
      streams.push(res);
    });
    await new Promise<void>((r) => backend!.listen(backendPort, '127.0.0.1', r));
    nginx = spawn(NGINX, ['-c', config], { stdio: 'ignore' });
    await until(async () => (await readFile(join(dir, 'nginx.pid'), 'utf8').catch(() => '')).trim() !== '', 'nginx to start');

    const first = await until(
      () =>
        new Promise<string | undefined>((resolve) => {
          const req = request({ host: '127.0.0.1', port: httpsPort, path: '/api/v2/events', rejectUnauthorized: false, servername: 'ci.example.org' }, (res) => {
            res.once('data', (d: Buffer) => {
              resolve(d.toString());
              req.destroy();
            });
          });
          req.on('error', () => resolve(undefined));
          req.setTimeout(5_000, () => {
            req.destroy();
            resolve(undefined);
          });
          req.end();
        }),
      'the first event through nginx',
      20_000,
    );
    expect(first).to.equal('data: {"path":"/api/v2/events"}\n\n');
    expect(streams.length, 'the stream was still open when the event arrived').to.be.at.least(1);
    expect(streams.every((s) => !s.writableEnded)).to.equal(true);
  });
});
