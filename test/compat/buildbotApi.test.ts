import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Koa from 'koa';
import { createMaster } from '../../lib/cli/createMaster.js';
import { Output } from '../../lib/cli/output.js';
import { upgradeMaster } from '../../lib/cli/upgradeMaster.js';
import { loadConfig } from '../../lib/config/loader.js';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import { masterPaths } from '../../lib/master/paths.js';
import { silentLogger } from '../../lib/util/log.js';
import { mountApi } from '../../lib/www/api/index.js';
import type { WwwContext } from '../../lib/www/context.js';
import { BUILDBOT_BIN, SYSTEM_PYTHON } from '../db/buildbotReference.js';
import { DELIBERATE, isDeliberate } from './deliberateDifferences.js';
import { diffJson, formatDifference } from './jsonDiff.js';

/**
 * The real Buildbot 3.7 runs a few builds (buildbotRecord.py) and records its /api/v2 answers; our
 * master adopts a copy of its database with `upgrade-master` and must answer the same requests
 * with the same fields, types and values. Deliberate differences are listed in
 * deliberateDifferences.ts (and docs/web.md, "Compatibility with Buildbot's REST API").
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const RECORDER = path.join(HERE, 'buildbotRecord.py');
const WORKER_BIN = '/usr/bin/buildbot-worker';

interface Answer {
  path: string;
  status: number;
  type: string;
  disposition: string | null;
  body: unknown;
  /** The answer's bytes as text. */
  text: string;
}

function requireBuildbotAndWorker(ctx: Mocha.Context): void {
  if (!existsSync(BUILDBOT_BIN)) {
    if (process.env.CI === 'true') throw new Error(`CI=true but ${BUILDBOT_BIN} is missing: apt-get install buildbot`);
    ctx.skip();
  }
  if (!existsSync(WORKER_BIN)) throw new Error(`${BUILDBOT_BIN} is installed but ${WORKER_BIN} is not: apt-get install buildbot-worker`);
}

interface Spec {
  path: string;
  type_spec: { fields?: { name: string }[] };
}

/**
 * /application.spec keyed by path and field name, so that a difference reads as
 * `$.specs.builds.type_spec.fields.complete_at.type`; our extensions' paths are left out (they are ours only).
 */
function specsByPath(buildbot: unknown, ours: unknown): [unknown, unknown] {
  const keyed = (body: unknown, only?: Set<string>) => {
    const { specs, ...rest } = body as { specs: Spec[] };
    const out: Record<string, unknown> = {};
    for (const s of specs) {
      if (only && !only.has(s.path)) continue;
      const fields = s.type_spec.fields && Object.fromEntries(s.type_spec.fields.map((f) => [f.name, f]));
      out[s.path] = { ...s, type_spec: { ...s.type_spec, ...(fields ? { fields } : {}) } };
    }
    return { ...rest, specs: out };
  };
  const paths = new Set((buildbot as { specs: Spec[] }).specs.map((s) => s.path));
  return [keyed(buildbot), keyed(ours, paths)];
}

describe("compatibility with Buildbot 3.7's REST API", function () {
  this.timeout(120_000);
  let tmp: string;
  let recorded: { ids: Record<string, unknown>; answers: Answer[] };
  let db: Database | undefined;
  let server: Server | undefined;
  let base: string;

  before(async function () {
    requireBuildbotAndWorker(this);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'bm-compat-'));
    const bbDir = path.join(tmp, 'buildbot');
    mkdirSync(bbDir);
    try {
      await promisify(execFile)(SYSTEM_PYTHON, [RECORDER, bbDir], { timeout: 90_000, env: { PATH: '/usr/bin:/bin', TZ: 'UTC', LANG: 'C.UTF-8' } });
    } catch (err) {
      const logs = ['master/twistd.log', 'master.out', 'worker.out']
        .map((f) => path.join(bbDir, f))
        .filter((f) => existsSync(f))
        .map((f) => `--- ${f}\n${readFileSync(f, 'utf8').slice(-3000)}`);
      throw new Error(`the Buildbot recorder failed: ${String(err)}\n${logs.join('\n')}`);
    }
    recorded = JSON.parse(readFileSync(path.join(bbDir, 'answers.json'), 'utf8'));

    // Our master directory, its fresh DB replaced by Buildbot's, then `upgrade-master`.
    const ourDir = path.join(tmp, 'ours');
    const quiet = new Output(() => {}, () => {});
    await createMaster(ourDir, { quiet: true }, quiet);
    const paths = masterPaths(ourDir);
    for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(paths.basedir, `state.sqlite${suffix}`), { force: true });
    copyFileSync(path.join(bbDir, 'state.sqlite'), path.join(paths.basedir, 'state.sqlite'));
    let upgradeLog = '';
    await upgradeMaster(ourDir, {}, new Output((t) => void (upgradeLog += t), (t) => void (upgradeLog += t)));
    expect(upgradeLog).to.contain('recognised a Buildbot 3.7 database');

    const { config } = await loadConfig(paths.config);
    db = await openDatabase({ url: config.db.url, basedir: paths.basedir });
    const w: WwwContext = {
      master: Object.assign(
        { config, builderIds: () => new Map<string, number>(), force: () => Promise.reject(new Error('read-only here')) },
        { db },
      ),
      logger: silentLogger(),
      users: [],
    };
    const app = new Koa();
    mountApi(app, w);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server!.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`;
  });

  after(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    await db?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** `plain:PATH` asks as a browser would, without `Accept: application/json`. */
  async function ask(p: string): Promise<{ status: number; type: string; disposition: string | null; text: string }> {
    const plain = p.startsWith('plain:');
    const res = await fetch(`${base}/${plain ? p.slice(6) : p}`, { headers: { accept: plain ? '*/*' : 'application/json' } });
    return { status: res.status, type: res.headers.get('content-type') ?? '', disposition: res.headers.get('content-disposition'), text: await res.text() };
  }

  /** Every difference of one request, as lines, deliberate ones included. */
  async function differences(a: Answer): Promise<{ at: string; line: string }[]> {
    const ours = await ask(a.path);
    dumped.push({ path: a.path, status: ours.status, type: ours.type, disposition: ours.disposition, body: undefined, text: ours.text });
    const out: { at: string; line: string }[] = [];
    const push = (at: string, buildbot: unknown, o: unknown) => out.push({ at, line: formatDifference(a.path, { at, buildbot, ours: o }) });
    if (ours.status !== a.status) push('status', a.status, ours.status);
    if (typeof a.body === 'string') {
      // Raw logs, plain answers and errors: the text itself, and the headers (a raw log is a download).
      if (a.status === 200 || a.path.startsWith('plain:')) {
        if (ours.text !== a.body) push('text', a.body, ours.text);
        if (ours.type !== a.type) push('content-type', a.type, ours.type);
        if (ours.disposition !== a.disposition) push('content-disposition', a.disposition, ours.disposition);
      } else {
        let body: unknown = ours.text;
        try {
          body = JSON.parse(ours.text);
        } catch {
          /* compared as text */
        }
        for (const d of diffJson(JSON.parse(a.body), body)) out.push({ at: d.at, line: formatDifference(a.path, d) });
      }
      return out;
    }
    let body: unknown;
    try {
      body = JSON.parse(ours.text);
    } catch {
      push('$', a.body, ours.text);
      return out;
    }
    const [bb, us] = a.path === 'application.spec' ? specsByPath(a.body, body) : [a.body, body];
    const found = diffJson(bb, us);
    for (const d of found) out.push({ at: d.at, line: formatDifference(a.path, d) });
    // The same data should also be the same bytes: sorted keys, separators, non-ASCII escaped.
    if (found.length === 0 && ours.text !== a.text) push('json-text', a.text, ours.text);
    if (ours.type !== a.type) push('content-type', a.type, ours.type);
    return out;
  }

  it('records enough of Buildbot to compare: builds that succeeded and failed, steps, logs of three types, changes', () => {
    const get = (p: string) => recorded.answers.find((a) => a.path === p)?.body as Record<string, Record<string, unknown>[]>;
    expect(get('builds').builds!.map((b) => b.results)).to.include.members([0, 2]);
    const stepResults = recorded.answers.filter((a) => /^steps\/\d+$/.test(a.path)).map((a) => (a.body as { steps: { results: number }[] }).steps[0]!.results);
    expect(stepResults).to.include.members([0, 1, 2]);
    expect(get('changes').changes).to.have.length(2);
    const types = recorded.answers.filter((a) => /^logs\/\d+$/.test(a.path)).map((a) => (a.body as { logs: { type: string }[] }).logs[0]!.type);
    expect(new Set(types)).to.deep.equal(new Set(['s', 't', 'h']));
    expect(recorded.answers.length).to.be.greaterThan(100);
  });

  /** Our answers, written to $COMPAT_DUMP/ours.json (and Buildbot's beside them) when that is set, to study a failure. */
  const dumped: Answer[] = [];
  after(() => {
    const dir = process.env.COMPAT_DUMP;
    if (!dir || !recorded) return;
    writeFileSync(path.join(dir, 'ours.json'), JSON.stringify(dumped, null, 1));
    writeFileSync(path.join(dir, 'buildbot.json'), JSON.stringify(recorded, null, 1));
  });

  it('answers every recorded request with the same status, keys, types and values (but the deliberate differences)', async () => {
    const unexpected: string[] = [];
    const seen = new Set<number>();
    for (const a of recorded.answers) {
      for (const d of await differences(a)) {
        const i = isDeliberate(a.path, d.at);
        if (i === undefined) unexpected.push(d.line);
        else seen.add(i);
      }
    }
    expect(unexpected, `${unexpected.length} differences:\n${unexpected.join('\n')}`).to.deep.equal([]);
    // Every entry of the table still describes a real difference (or the table would hide a fix).
    const stale = DELIBERATE.filter((_d, i) => !seen.has(i)).map((d) => `${d.path} ${d.at}: ${d.reason}`);
    expect(stale, 'deliberate differences that no longer occur').to.deep.equal([]);
  });
});
