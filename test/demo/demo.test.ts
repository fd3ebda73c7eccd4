/**
 * `npm run demo -- --once` in a fresh working directory: the demo commits to its git repository,
 * the GitPoller makes that a push, the scheduler builds it on both builders through the embedded
 * SSH host, and successful builds, steps and logs are left in demo-master/state.sqlite; a second
 * run must reuse demo-master and build its own (second) push. The web server takes a free port
 * (BUILDMASTER_DEMO_PORT=0), never the 8010 a developer's demo may hold.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sqlite3 from 'sqlite3';
import { readLines } from '../../lib/logs/chunkCodec.js';
import { useTempDir } from '../support/tmp.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const demoBin = join(repoRoot, 'bin', 'demo.js');

/** The demo runs from dist/ (like bin/buildmaster.js); npm test builds it, a lone mocha run may not. */
function ensureDemoBuilt(): void {
  if (existsSync(join(repoRoot, 'dist/lib/demo/main.js'))) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (!existsSync(join(repoRoot, 'dist/lib/demo/main.js'))) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
}

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(cwd: string, args: string[] = [], env: NodeJS.ProcessEnv = { BUILDMASTER_DEMO_PORT: '0' }): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [demoBin, '--once', '--timeout', '120', ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// Read-only inspection of the demo's DB from outside, as a user with the sqlite3 CLI would.
function query<T>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.all(sql, params, (e, rows) => db.close(() => (e ? reject(e) : resolve(rows as T[]))));
    });
  });
}

interface BuildRow {
  id: number;
  number: number;
  builder: string;
  results: number | null;
  complete_at: number | null;
}
interface StepRow {
  id: number;
  buildid: number;
  name: string;
  results: number | null;
}
interface PushRow {
  id: number;
  branch: string;
  source: string;
  revision: string;
  comments: string;
}
/** The revision each build built (its buildset's sourcestamp). */
const BUILT_REVISIONS = `SELECT r.name AS builder, b.number, ss.revision FROM builds b JOIN builders r ON r.id = b.builderid
  JOIN buildrequests br ON br.id = b.buildrequestid JOIN buildset_sourcestamps bss ON bss.buildsetid = br.buildsetid
  JOIN sourcestamps ss ON ss.id = bss.sourcestampid ORDER BY b.id`;
const PUSHES = `SELECT p.id, p.branch, p.source, c.revision, c.comments FROM pushes p JOIN push_changes pc ON pc.pushid = p.id
  JOIN changes c ON c.changeid = pc.changeid ORDER BY p.id`;

function git(dir: string, ...args: string[]): string {
  return spawnSync('git', args, { cwd: dir, encoding: 'utf8' }).stdout.trim();
}

interface LogRow {
  id: number;
  stepid: number;
  name: string;
  num_lines: number;
}

async function logText(dbFile: string, log: LogRow): Promise<string> {
  const rows = await query<{ first_line: number; last_line: number; compressed: number; content: Buffer; timestamps: Buffer | null }>(
    dbFile,
    'SELECT first_line, last_line, compressed, content, timestamps FROM logchunks WHERE logid = ? ORDER BY first_line',
    [log.id],
  );
  return readLines(rows, 0, log.num_lines - 1).lines.join('\n');
}

describe('npm run demo -- --once', function () {
  this.timeout(300_000);
  const tmp = useTempDir('bm-demo-');

  before(ensureDemoBuilt);

  it('pushes a commit, builds it on both builders and records the push, builds, steps and logs; a second run reuses demo-master', async () => {
    const first = await runDemo(tmp());
    expect(first.code, `demo output:\n${first.stdout}\n${first.stderr}`).to.equal(0);
    expect(first.stdout).to.match(/pushed [0-9a-f]{8} "release greet 1\.1/);
    expect(first.stdout).to.match(/demo-build #1 started/);
    expect(first.stdout).to.match(/demo-test #1 finished: SUCCESS/);
    expect(first.stdout).to.include('all builds succeeded');
    expect(first.stdout).to.include('demo-master/state.sqlite');

    const master = join(tmp(), 'demo-master');
    const dbFile = join(master, 'state.sqlite');
    expect(readFileSync(join(master, 'known_hosts'), 'utf8')).to.match(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /m);
    expect(existsSync(join(master, 'demo-repo', '.git'))).to.equal(true);
    const head = git(join(master, 'demo-repo'), 'rev-parse', 'HEAD');

    // The commit came in through the GitPoller as one push, and both builds built it.
    const pushes = await query<PushRow>(dbFile, PUSHES);
    expect(pushes.map((p) => [p.branch, p.source, p.revision])).to.deep.equal([['main', 'git', head]]);
    expect(pushes[0]!.comments).to.match(/^release greet 1\.1/);
    expect((await query<{ builder: string; revision: string }>(dbFile, BUILT_REVISIONS)).map((b) => [b.builder, b.revision]).sort()).to.deep.equal([
      ['demo-build', head],
      ['demo-test', head],
    ]);

    const builds = await query<BuildRow>(
      dbFile,
      'SELECT b.id, b.number, r.name AS builder, b.results, b.complete_at FROM builds b JOIN builders r ON r.id = b.builderid ORDER BY b.id',
    );
    expect(builds.map((b) => [b.builder, b.number, b.results]).sort()).to.deep.equal([
      ['demo-build', 1, 0],
      ['demo-test', 1, 0],
    ]);
    for (const b of builds) expect(b.complete_at).to.be.a('number');

    const steps = await query<StepRow>(dbFile, 'SELECT id, buildid, name, results FROM steps ORDER BY buildid, number');
    const testBuild = builds.find((b) => b.builder === 'demo-test')!;
    const testSteps = steps.filter((s) => s.buildid === testBuild.id);
    expect(testSteps.map((s) => s.name)).to.include.members(['git', 'build', 'tests']);
    for (const s of steps) expect(s.results, `step ${s.name}`).to.be.oneOf([0, 3]); // SUCCESS, or SKIPPED

    const logs = await query<LogRow>(dbFile, 'SELECT id, stepid, name, num_lines FROM logs');
    const testsStep = testSteps.find((s) => s.name === 'tests')!;
    const testsLog = logs.find((l) => l.stepid === testsStep.id && l.name === 'stdio');
    expect(testsLog, 'the tests step has a stdio log').to.not.equal(undefined);
    const text = await logText(dbFile, testsLog!);
    expect(text).to.match(/^oTAP version 13$/m);
    expect(text).to.match(/^ook \d - test_default$/m);
    expect(text).to.include('# 4 passed, 0 failed');
    expect(text).to.include('warning: test_shout exercises the deprecated --shout flag');

    const second = await runDemo(tmp());
    expect(second.code, `second demo output:\n${second.stdout}\n${second.stderr}`).to.equal(0);
    expect(second.stdout).to.include('reusing');
    expect(second.stdout).to.match(/pushed [0-9a-f]{8} "release greet 1\.2/);
    const head2 = git(join(master, 'demo-repo'), 'rev-parse', 'HEAD');
    expect((await query<PushRow>(dbFile, PUSHES)).map((p) => p.revision)).to.deep.equal([head, head2]);
    const again = await query<BuildRow>(
      dbFile,
      'SELECT b.id, b.number, r.name AS builder, b.results, b.complete_at FROM builds b JOIN builders r ON r.id = b.builderid ORDER BY b.id',
    );
    expect(again.map((b) => [b.builder, b.number, b.results]).sort()).to.deep.equal([
      ['demo-build', 1, 0],
      ['demo-build', 2, 0],
      ['demo-test', 1, 0],
      ['demo-test', 2, 0],
    ]);
  });

  it('refuses a web port that is in use (BUILDMASTER_DEMO_PORT) with a message, before starting anything', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await runDemo(tmp(), [], { BUILDMASTER_DEMO_PORT: String(port) });
      expect(r.code, r.stdout).to.equal(1);
      expect(r.stderr).to.equal(`demo: port ${port} on 127.0.0.1 is in use: pick another with --port or BUILDMASTER_DEMO_PORT\n`);
      expect(existsSync(join(tmp(), 'demo-master', 'state.sqlite'))).to.equal(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
