/**
 * Git (Buildbot's steps.Git, steps/source/git.py): brings the step's workdir to the build's
 * revision (or the branch head), with Buildbot's modes and the same git command sequences:
 *
 * - incremental: clone when there is no repository; otherwise `fetch -f -t URL BRANCH` (skipped
 *   when the revision is already there) and `checkout -f REV|FETCH_HEAD`, then `checkout -B BRANCH`.
 * - full/clean: `clean -f -f -d`, then fetch + checkout; full/fresh (the default method) also
 *   removes ignored files (`-x`), and clobbers when clean fails; full/clobber removes the
 *   directory and clones (shallow: `--depth N`); full/copy updates `source/` incrementally and
 *   copies it to the workdir.
 * - submodules: `submodule sync` + `submodule update --init --recursive --force --checkout`.
 *
 * - a try job's patch (the sourcestamp's): after checkout, `.buildbot-diff` and the
 *   `.buildbot-patched` marker are written, then `git update-index --refresh` and
 *   `git apply --index -p LEVEL` (the diff on stdin) run in the patch's subdir; a patch that does
 *   not apply fails the step. A build that finds the marker first runs `clean -f -f -d -x`, and
 *   its checkout (`checkout -f`) drops what the patch changed, so no later build inherits it.
 *
 * Afterwards `got_revision` is `git rev-parse HEAD` (a dict by codebase when the step has one).
 * Every command is logged in the `stdio` log, as Buildbot does.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedGit } from '../config/resolved.js';
import type { LogWriter } from '../logs/logWriter.js';
import { FAILURE, SUCCESS } from '../process/results.js';
import type { CommandEnv } from '../workers/types.js';
import { copyDirCommand, listDir } from './fsCommands.js';
import { runShell, throwIfAborted, type ShellResult } from './remoteShell.js';
import { mergedEnv } from './shellCommand.js';
import { DIFF_FILE, PATCHED_MARKER, patchDir, patchText, writeWorkerFile } from './sourcePatch.js';
import { StepAbort } from './stepAbort.js';
import type { BuildPatch, StepContext, StepDefinition } from './types.js';

const HASH_LENGTHS = new Set([40, 64]); // SHA-1 and SHA-256 repositories

interface GitCmdOptions {
  abandonOnFailure?: boolean;
  collectStdout?: boolean;
  initialStdin?: string | Buffer;
}

function versionAtLeast(v: number[], ...want: number[]): boolean {
  for (let i = 0; i < want.length; i++) {
    const a = v[i] ?? 0;
    if (a !== want[i]) return a > want[i];
  }
  return true;
}

/** What the step checks out: the sourcestamp's (or nothing, for alwaysUseLatest). */
interface GitSource {
  branch: string | null;
  revision: string | null;
  patch?: BuildPatch | null;
}

/** One run of a Git step: its settings, rendered, and Buildbot's methods. */
class GitRun {
  branch: string;
  readonly revision: string | null;
  readonly patch: BuildPatch | null;
  workdir: string;
  readonly env: CommandEnv;
  readonly configArgs: string[] = [];
  private retry: [number, number] | undefined;
  private version: number[] = [];

  constructor(
    private readonly ctx: StepContext,
    private readonly step: ResolvedGit,
    private readonly log: LogWriter,
    source: GitSource,
  ) {
    this.branch = source.branch || String(step.branch) || 'HEAD';
    // An empty revision (a force form left blank) means "the branch head", as Buildbot's truthiness test.
    this.revision = source.revision || null;
    this.patch = source.patch ?? null;
    this.workdir = ctx.workdir;
    this.env = mergedEnv(ctx, step.env);
    for (const [k, v] of Object.entries(step.config)) this.configArgs.push('-c', `${k}=${v}`);
    this.retry = step.retry ? [step.retry[0], step.retry[1]] : undefined;
  }

  get method(): 'clean' | 'fresh' | 'clobber' | 'copy' | undefined {
    if (this.step.mode === 'incremental') return undefined;
    return this.step.method ?? 'fresh';
  }

  get repourl(): string {
    return String(this.step.repourl);
  }

  /** `git ARGS` in the workdir, logged; a failure ends the step unless abandonOnFailure is false. */
  async git(args: string[], o: GitCmdOptions = {}): Promise<ShellResult> {
    const r = await runShell(this.ctx, {
      command: ['git', ...this.configArgs, ...args],
      workdir: this.workdir,
      env: this.env,
      timeoutS: this.step.timeout,
      // As Buildbot: TERM first so git can remove its lock files, KILL a second later.
      sigtermTimeS: 1,
      interruptSignal: 'KILL',
      logEnviron: this.step.logEnviron,
      collectStdout: o.collectStdout,
      initialStdin: o.initialStdin,
      log: this.log,
    });
    throwIfAborted(r);
    if (r.rc !== 0 && (o.abandonOnFailure ?? true)) throw StepAbort.failed(`git ${args[0]} failed with exit code ${r.rc}`);
    return r;
  }

  async checkGit(): Promise<void> {
    const r = await this.git(['--version'], { abandonOnFailure: false, collectStdout: true });
    const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(r.stdout);
    if (r.rc !== 0 || !m) throw new Error(`git is not installed on worker ${this.ctx.workerName}`);
    this.version = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  }

  async run(): Promise<void> {
    await this.checkGit();
    // A try build left its patch here: clean it away before any mode reuses the tree.
    if (await this.sourcedirIsPatched()) await this.git(['clean', '-f', '-f', '-d', '-x']);
    if (this.step.mode === 'full') await this.modeFull();
    else await this.modeIncremental();
    if (this.patch) await this.applyPatch(this.patch);
    await this.parseGotRevision();
  }

  private async modeFull(): Promise<void> {
    const method = this.method;
    if (method === 'clobber') return this.clobber();
    if (method === 'copy') return this.copy();
    const action = await this.sourcedirIsUpdatable();
    if (action === 'clobber') return this.clobber();
    if (action === 'clone') return this.fullCloneOrFallback();
    if (method === 'clean') return this.clean();
    return this.fresh();
  }

  private async modeIncremental(): Promise<void> {
    const action = await this.sourcedirIsUpdatable();
    if (action === 'clobber') return this.clobber();
    if (action === 'clone') return this.fullCloneOrFallback();
    await this.fetchOrFallback();
    await this.syncSubmodule();
    await this.updateSubmodule();
  }

  private async clean(): Promise<void> {
    const cleanCmd = ['clean', '-f', '-f', '-d'];
    await this.git(cleanCmd);
    await this.fetchOrFallback();
    await this.syncSubmodule();
    await this.updateSubmodule();
    await this.cleanSubmodule();
    if (this.step.submodules) await this.git(cleanCmd);
  }

  private async fresh(): Promise<void> {
    const cleanCmd = ['clean', '-f', '-f', '-d', '-x'];
    const r = await this.git(cleanCmd, { abandonOnFailure: false });
    if (r.rc === 0) await this.fetchOrFallback();
    else {
      await this.doClobber();
      await this.fullCloneOrFallback();
    }
    await this.syncSubmodule();
    await this.updateSubmodule();
    await this.cleanSubmodule();
    if (this.step.submodules) await this.git(cleanCmd);
  }

  private async clobber(): Promise<void> {
    await this.doClobber();
    const rc = await this.fullClone(this.step.shallow);
    if (rc !== 0) throw StepAbort.failed('git clone failed');
  }

  private async copy(): Promise<void> {
    const target = this.workdir;
    await this.removeDir(target);
    this.workdir = this.ctx.platform.joinPath(this.ctx.builddir, 'source');
    try {
      await this.modeIncremental();
      this.log.addHeader(`copying ${this.workdir} to ${target}`);
      const r = await runShell(this.ctx, {
        command: copyDirCommand(this.ctx.platform, this.workdir, target),
        workdir: this.ctx.builddir,
        timeoutS: this.step.timeout,
        logEnviron: false,
        log: this.log,
      });
      throwIfAborted(r);
      if (r.rc !== 0) throw StepAbort.failed(`copying ${this.workdir} to ${target} failed`);
    } finally {
      // got_revision is read from the copy, as Buildbot does.
      this.workdir = target;
    }
  }

  private async sourcedirIsUpdatable(): Promise<'clone' | 'update' | 'clobber'> {
    const files = await listDir(this.ctx, this.workdir);
    if (!files || files.length === 0) return 'clone';
    return files.includes('.git') ? 'update' : 'clobber';
  }

  private async sourcedirIsPatched(): Promise<boolean> {
    const files = await listDir(this.ctx, this.workdir);
    return !!files && files.includes(PATCHED_MARKER);
  }

  /** Buildbot's Source.patch + Git.applyPatch; the marker goes first so a failed apply is cleaned too. */
  private async applyPatch(patch: BuildPatch): Promise<void> {
    const p = this.ctx.platform;
    const root = this.workdir;
    const dir = patchDir(this.ctx, root, patch);
    const by = patch.author ? ` by ${patch.author}` : '';
    this.log.addHeader(`applying patch${by}: ${patch.body.length} bytes, -p${patch.level}, in ${dir}${patch.comment ? ` (${patch.comment})` : ''}`);
    await writeWorkerFile(this.ctx, p.joinPath(dir, DIFF_FILE), patch.body);
    await writeWorkerFile(this.ctx, p.joinPath(root, PATCHED_MARKER), 'patched\n');
    this.workdir = dir;
    try {
      await this.git(['update-index', '--refresh'], { abandonOnFailure: false });
      const r = await this.git(['apply', '--index', '-p', String(patch.level)], { initialStdin: patch.body, abandonOnFailure: false });
      if (r.rc !== 0) {
        this.log.addHeader(`patch did not apply: git apply failed with exit code ${r.rc}; the tree is left unpatched`);
        throw StepAbort.failed(`patch did not apply (git apply exit code ${r.rc})`);
      }
      this.log.addHeader('patch applied');
    } finally {
      this.workdir = root;
      await this.ctx.conn.removePath(p.joinPath(dir, DIFF_FILE)).catch(() => undefined);
    }
  }

  private async fetch(abandonOnFailure: boolean): Promise<number> {
    let fetchRequired = true;
    if (this.revision) {
      const r = await this.git(['cat-file', '-e', this.revision], { abandonOnFailure: false });
      if (r.rc === 0) fetchRequired = false;
    }
    if (fetchRequired) {
      const cmd = ['fetch', '-f', '-t', this.repourl, this.branch];
      if (this.step.progress) cmd.push('--progress');
      const r = await this.git(cmd, { abandonOnFailure });
      if (r.rc !== 0) return r.rc;
    }
    const r = await this.git(['checkout', '-f', this.revision ?? 'FETCH_HEAD'], { abandonOnFailure });
    if (r.rc === 0 && this.branch !== 'HEAD') {
      await this.git(['checkout', '-B', this.branch], { abandonOnFailure: false });
    }
    return r.rc;
  }

  private async fetchOrFallback(): Promise<void> {
    const abandon = !this.step.retryFetch && !this.step.clobberOnFailure;
    const rc = await this.fetch(abandon);
    if (rc === 0) return;
    if (this.step.retryFetch) await this.fetch(true);
    else if (this.step.clobberOnFailure) await this.clobber();
    else throw StepAbort.failed('git fetch failed');
  }

  private async clone(shallow: boolean | number): Promise<number> {
    const cmd = ['clone'];
    let switchToBranch = this.branch !== 'HEAD';
    if (this.branch !== 'HEAD') {
      if (this.branch.startsWith('refs/')) cmd.push('--no-checkout');
      else {
        switchToBranch = false;
        cmd.push('--branch', this.branch);
      }
    }
    if (shallow) cmd.push('--depth', String(shallow === true ? 1 : Math.trunc(shallow)));
    if (this.step.reference) cmd.push('--reference', String(this.step.reference));
    if (this.step.origin) cmd.push('--origin', this.step.origin);
    cmd.push(this.repourl, '.');
    if (this.step.progress) cmd.push('--progress');
    const abandon = this.retry ? this.retry[1] <= 0 : true;
    let rc = (await this.git(cmd, { abandonOnFailure: abandon && !!shallow })).rc;
    if (switchToBranch) rc = await this.fetch(true);
    if (rc !== 0 && this.retry && this.retry[1] > 0) {
      const [delay, repeats] = this.retry;
      this.retry = [delay, repeats - 1];
      this.log.addHeader(`clone failed, trying ${repeats} more times after ${delay} seconds`);
      await new Promise((r) => setTimeout(r, delay * 1000));
      if (this.ctx.signal.aborted) throw StepAbort.cancelled('stopped while waiting to retry the clone');
      await this.doClobber();
      return this.clone(shallow);
    }
    return rc;
  }

  /** Clone, check out the revision, update submodules; with shallow, any failure ends the step. */
  private async fullClone(shallow: boolean | number = false): Promise<number> {
    let rc = await this.clone(shallow);
    if (rc !== 0) return rc;
    if (this.revision) rc = (await this.git(['checkout', '-f', this.revision], { abandonOnFailure: !!shallow })).rc;
    if (this.step.submodules) rc = (await this.git(['submodule', 'update', '--init', '--recursive'], { abandonOnFailure: !!shallow })).rc;
    return rc;
  }

  private async fullCloneOrFallback(): Promise<void> {
    const rc = await this.fullClone();
    if (rc === 0) return;
    if (!this.step.clobberOnFailure) throw StepAbort.failed('git clone failed');
    await this.clobber();
  }

  private async doClobber(): Promise<void> {
    await this.removeDir(this.workdir);
  }

  private async removeDir(path: string): Promise<void> {
    this.log.addHeader(`rmdir ${path}`);
    try {
      await this.ctx.conn.removePath(path);
    } catch (err) {
      if (!this.ctx.conn.isConnected()) throw StepAbort.connectionLost((err as Error).message);
      throw new Error(`Failed to delete directory ${path}: ${(err as Error).message}`);
    }
  }

  private async syncSubmodule(): Promise<void> {
    if (this.step.submodules) await this.git(['submodule', 'sync']);
  }

  private async updateSubmodule(): Promise<void> {
    if (!this.step.submodules) return;
    const cmd = ['submodule', 'update', '--init', '--recursive'];
    if (versionAtLeast(this.version, 1, 7, 6)) cmd.push('--force');
    if (versionAtLeast(this.version, 1, 8, 2)) cmd.push('--checkout');
    await this.git(cmd);
  }

  private async cleanSubmodule(): Promise<void> {
    if (!this.step.submodules) return;
    const sub = this.method === 'fresh' ? 'git clean -f -f -d -x' : 'git clean -f -f -d';
    await this.git(['submodule', 'foreach', '--recursive', sub]);
  }

  private async parseGotRevision(): Promise<void> {
    const r = await this.git(['rev-parse', 'HEAD'], { collectStdout: true });
    const revision = r.stdout.trim();
    if (!HASH_LENGTHS.has(revision.length)) throw StepAbort.failed(`git rev-parse HEAD printed ${JSON.stringify(revision)}, not a commit id`);
    updateSourceProperty(this.ctx, this.step.codebase, 'got_revision', revision, 'Git');
  }
}

/** Buildbot's Source.updateSourceProperty: a plain value, or a dict by codebase when there is one. */
export function updateSourceProperty(ctx: StepContext, codebase: string, name: string, value: string, source: string): void {
  if (codebase === '') {
    ctx.setProperty(name, value, source);
    return;
  }
  const old = ctx.properties.getProperty(name, {});
  const dict = typeof old === 'object' && old !== null && !Array.isArray(old) ? { ...(old as Record<string, unknown>) } : {};
  dict[codebase] = value;
  ctx.setProperty(name, dict, source);
}

/**
 * sshPrivateKey (and sshHostKey / sshKnownHosts): written next to the workdir for the step's
 * commands (`core.sshCommand`), removed afterwards, as Buildbot does.
 */
async function withSshKey<T>(ctx: StepContext, step: ResolvedGit, run: GitRun, fn: () => Promise<T>): Promise<T> {
  if (!step.sshPrivateKey) return fn();
  const p = ctx.platform;
  const dataDir = p.joinPath(ctx.builddir, `.${p.joinPath(ctx.workdir).split(/[\\/]/).pop()}.buildbot`);
  const keyPath = p.joinPath(dataDir, 'ssh-key');
  const knownHostsPath = p.joinPath(dataDir, 'ssh-known-hosts');
  const knownHosts = step.sshKnownHosts ? String(step.sshKnownHosts) : step.sshHostKey ? `* ${String(step.sshHostKey)}\n` : undefined;
  const local = join(tmpdir(), `bm-git-${randomBytes(6).toString('hex')}`);
  const sftp = await ctx.conn.sftp({ signal: ctx.signal });
  try {
    await writeFile(local, String(step.sshPrivateKey).replace(/\r?\n?$/, '\n'), { mode: 0o600 });
    await sftp.uploadFile(local, keyPath, { mode: 0o400 });
    if (knownHosts !== undefined) {
      await writeFile(local, knownHosts, { mode: 0o600 });
      await sftp.uploadFile(local, knownHostsPath, { mode: 0o600 });
    }
  } finally {
    await rm(local, { force: true });
    await sftp.close();
  }
  const fwd = (s: string) => s.replace(/\\/g, '/');
  let sshCommand = `ssh -o "BatchMode=yes" -i "${fwd(keyPath)}"`;
  if (knownHosts !== undefined) sshCommand += ` -o "UserKnownHostsFile=${fwd(knownHostsPath)}"`;
  run.configArgs.push('-c', `core.sshCommand=${sshCommand}`);
  try {
    return await fn();
  } finally {
    await ctx.conn.removePath(dataDir).catch(() => undefined);
  }
}

export const gitStep: StepDefinition<ResolvedGit> = {
  kind: 'Git',
  async run(ctx, step) {
    const log = await ctx.addLog('stdio');
    let source: GitSource;
    if (step.alwaysUseLatest) source = { branch: null, revision: null };
    else {
      const ss = ctx.sourcestamps.find((s) => s.codebase === step.codebase);
      if (!ss) {
        await ctx.addCompleteLog('log', `No sourcestamp found in build for codebase '${step.codebase}'`);
        return { results: FAILURE, summary: `Codebase ${step.codebase} not in build` };
      }
      source = { branch: ss.branch, revision: ss.revision, patch: ss.patch ?? null };
      if (ss.patch) await ctx.addCompleteLog('patch', patchText(ss.patch));
    }
    const run = new GitRun(ctx, step, log, source);
    await withSshKey(ctx, step, run, () => run.run());
    return { results: SUCCESS };
  },
};
