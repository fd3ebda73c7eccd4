import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CONTRIB = fileURLToPath(new URL('../../contrib/', import.meta.url));

/** The first of these programs that exists, or undefined. */
function which(...paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

async function shellScripts(): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['hooks', 'slaves']) {
    for (const name of await readdir(join(CONTRIB, sub))) {
      const file = join(CONTRIB, sub, name);
      if ((await readFile(file, 'utf8')).startsWith('#!/bin/sh')) out.push(file);
    }
  }
  return out;
}

/**
 * contrib/ files that cannot run here for real (other OSes, systemd as PID 1) are checked by the
 * tools that read them: sh/bash -n and shellcheck for the shell scripts, systemd-analyze verify for
 * the unit, and the unit's promises (reload = reconfig, SIGTERM, a stop timeout above the bound).
 */
describe('contrib scripts and unit', () => {
  it('the shell scripts parse with sh -n and bash -n', async () => {
    const scripts = await shellScripts();
    expect(scripts.map((f) => f.slice(CONTRIB.length)).sort()).to.include.members(['hooks/git-post-receive', 'hooks/hg-changegroup', 'slaves/centos-setup.sh', 'slaves/macos-setup.sh']);
    for (const f of scripts) {
      await run('sh', ['-n', f]);
      await run('bash', ['-n', f]);
    }
  });

  it('the shell scripts are shellcheck-clean', async function () {
    const shellcheck = which('/usr/bin/shellcheck', '/usr/local/bin/shellcheck');
    if (!shellcheck) return this.skip();
    const { stdout } = await run(shellcheck, ['-f', 'gcc', ...(await shellScripts())]).catch((err: { stdout: string }) => err);
    expect(stdout).to.equal('');
  });

  it('the Windows script is a PowerShell script with its parameters (parsed by pwsh when present)', async function () {
    const ps1 = join(CONTRIB, 'slaves', 'windows-setup.ps1');
    const text = await readFile(ps1, 'utf8');
    expect(text).to.match(/param\(/).and.match(/Add-WindowsCapability -Online -Name \$cap\.Name/).and.match(/MaxSessions/);
    const pwsh = which('/usr/bin/pwsh', '/usr/local/bin/pwsh', '/opt/microsoft/powershell/7/pwsh');
    if (!pwsh) return this.skip();
    const check = `$e=$null; [System.Management.Automation.Language.Parser]::ParseFile('${ps1}', [ref]$null, [ref]$e) | Out-Null; if ($e) { $e; exit 1 }`;
    await run(pwsh, ['-NoProfile', '-Command', check]);
  });

  it('the systemd unit: reload is reconfig, SIGTERM stops, the stop timeout exceeds the default build bound; systemd-analyze verify accepts it', async function () {
    const unit = await readFile(join(CONTRIB, 'systemd', 'buildmaster.service'), 'utf8');
    const setting = (key: string) => unit.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1];
    expect(setting('ExecStart')).to.match(/buildmaster start --nodaemon /);
    expect(setting('ExecReload')).to.match(/buildmaster reconfig /);
    expect(setting('KillSignal')).to.equal('SIGTERM');
    expect(Number(setting('TimeoutStopSec'))).to.be.above(30 + 15);
    expect(setting('SuccessExitStatus')).to.equal('4 5');

    const analyze = which('/usr/bin/systemd-analyze', '/bin/systemd-analyze');
    if (!analyze) return this.skip();
    const dir = await mkdtemp(join(tmpdir(), 'bm-unit-'));
    try {
      // verify insists that the programs exist: point them at a stand-in.
      const stub = join(dir, 'buildmaster');
      await writeFile(stub, '#!/bin/sh\n');
      await chmod(stub, 0o755);
      await writeFile(join(dir, 'buildmaster.service'), unit.replaceAll('/usr/bin/buildmaster', stub));
      const { stderr } = await run(analyze, ['verify', join(dir, 'buildmaster.service')]);
      expect(stderr).to.equal('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
