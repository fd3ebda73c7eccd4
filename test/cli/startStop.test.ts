import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeMasterDir, removeDir, until } from '../master/masterDir.js';
import { binPath, repoRoot, runCli } from '../support/cli.js';

/** The CLI from source, as a real process (bin/buildmaster.js runs the same code from dist). */
const CLI_ENTRY = fileURLToPath(new URL('../master/cliEntry.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { bin?: boolean } = {}): Promise<Run> {
  const argv = opts.bin ? [binPath, ...args] : ['--import', 'tsx', CLI_ENTRY, ...args];
  const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function emptyConfig(port: number): string {
  return `import { defineConfig } from 'buildmaster';
export default defineConfig({
  db: { url: 'sqlite:///state.sqlite' },
  www: { host: '127.0.0.1', port: ${port} },
  workers: [],
  builders: [],
  schedulers: [],
});
`;
}

describe('buildmaster start / stop (real processes)', function () {
  this.timeout(120_000);
  let dir: string | undefined;
  const pids: number[] = [];

  beforeEach(async () => {
    dir = await makeMasterDir({ workers: [], builders: [] });
    writeFileSync(join(dir, 'master.config.ts'), emptyConfig(await freePort()));
  });
  afterEach(async () => {
    // Masters these tests started and left running (a failed assertion): stop them by their pid.
    for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await removeDir(dir);
    dir = undefined;
  });

  const pidFile = () => join(dir!, 'buildmaster.pid');
  const log = () => readFileSync(join(dir!, 'master.log'), 'utf8');

  it('start runs the master in the background; stop ends it cleanly', async () => {
    const started = await run(['start', dir!]);
    expect(started.code, started.stderr).to.equal(0);
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    pids.push(pid);
    expect(started.stdout).to.contain(`buildmaster is running (pid ${pid})`);
    expect(alive(pid)).to.equal(true);
    expect(log()).to.contain('master is running (masterid 1, 0 workers, 0 builders)');

    const again = await run(['start', dir!]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain(`already running (pid ${pid})`);

    const stopped = await run(['stop', dir!]);
    expect(stopped.code, stopped.stderr).to.equal(0);
    expect(stopped.stdout).to.contain(`buildmaster process ${pid} stopped cleanly`);
    expect(alive(pid)).to.equal(false);
    expect(existsSync(pidFile())).to.equal(false);
    expect(log()).to.contain('SIGTERM received: stopping').and.to.contain('master stopped');

    const idle = await run(['stop', dir!]);
    expect(idle.code).to.equal(0);
    expect(idle.stdout).to.contain('buildmaster not running');
  });

  it('start fails with the end of master.log when the master cannot start', async () => {
    writeFileSync(join(dir!, 'master.config.ts'), "import { defineConfig } from 'buildmaster';\nexport default defineConfig({ workers: 3 });\n");
    const r = await run(['start', dir!]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/the master exited with code 1 while starting/);
    expect(r.stderr).to.contain('master.config.ts:2'); // the config error, from master.log
    expect(r.stderr).to.contain('did not start');
    expect(existsSync(pidFile())).to.equal(false);
  });

  it('start --nodaemon runs in the foreground until SIGTERM, with its pid file only while running', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'start', '--nodaemon', dir!], { stdio: ['ignore', 'pipe', 'pipe'] });
    pids.push(child.pid!);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    await until(() => existsSync(pidFile()) && readFileSync(pidFile(), 'utf8').trim() === String(child.pid), 'the pid file', 60_000);
    expect(stdout).to.contain('master is running');
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).to.equal(0);
    expect(existsSync(pidFile())).to.equal(false);
    expect(stdout).to.contain('master stopped');
  });

  it('stop --no-wait only sends the signal; a stale pid file counts as not running', async () => {
    expect((await run(['start', dir!])).code).to.equal(0);
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    pids.push(pid);
    const r = await run(['stop', '--no-wait', dir!]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.contain(`sent SIGTERM to process ${pid}`);
    await until(() => !alive(pid), 'the master to exit', 60_000);

    writeFileSync(pidFile(), '999999\n');
    const stale = await runCli('stop', dir!);
    expect(stale.code).to.equal(0);
    expect(stale.stdout).to.contain('buildmaster not running');
    expect(existsSync(pidFile())).to.equal(false);
  });

  it('trust-worker names the workers when asked for one the config does not have', async () => {
    const r = await runCli('trust-worker', dir!, 'nosuch');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain("no worker named 'nosuch'");
  });

  it('works through the real launcher, bin/buildmaster.js, when the build is there', async function () {
    if (!existsSync(join(repoRoot, 'dist/lib/cli/start.js'))) this.skip(); // npm test builds dist first
    const started = await run(['start', dir!], { bin: true });
    expect(started.code, started.stderr).to.equal(0);
    const pid = Number(readFileSync(pidFile(), 'utf8'));
    pids.push(pid);
    const stopped = await run(['stop', dir!], { bin: true });
    expect(stopped.code, stopped.stderr).to.equal(0);
    expect(alive(pid)).to.equal(false);
  });
});
