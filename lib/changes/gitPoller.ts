import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { ResolvedGitPoller } from '../config/resolved.js';
import type { ChangeSpec } from '../db/changes.js';
import { Poller, type PollContext, type PollerDeps } from './pollerBase.js';
import { fitChange } from './fitChange.js';
import { runVcs } from './vcsCommand.js';

/** Python's urllib.parse.quote(s, safe=''): only letters, digits and `_.-` stay (Buildbot also quotes `~`). */
function pyQuote(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sameHeads(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function removeHeads(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

/**
 * Buildbot's GitPoller (changes/gitpoller.py): a bare repository under the master directory;
 * each poll lists the remote's refs (ls-remote), fetches the followed branches into
 * refs/buildbot/<quoted url>/<branch>, and makes one change per new commit (`git log new ^old…`,
 * oldest first) with author `%aN <%aE>`, comments `%s%n%b`, time `%ct` and the files it touched.
 * One poll's new commits on one branch are ONE push. The first poll only records the heads.
 *
 * State (objects (name, 'GitPoller'), key `lastRev`): {branch: sha}. A branch's entry advances in
 * the transaction that stores its push, so a crash in between re-polls the same commits and
 * stores them once.
 */
export class GitPoller extends Poller {
  private readonly workdir: string;

  constructor(
    deps: PollerDeps,
    private readonly cfg: ResolvedGitPoller,
  ) {
    super(deps, cfg, 'GitPoller');
    this.workdir = isAbsolute(cfg.workdir) ? cfg.workdir : join(deps.basedir, cfg.workdir);
  }

  describe(): string {
    const b = this.cfg.branches;
    const branches = b === true ? 'ALL' : Array.isArray(b) ? b.join(', ') : 'chosen by a function';
    return `GitPoller watching the remote git repository ${this.cfg.repourl}, branches: ${branches}`;
  }

  private async git(args: string[], signal: AbortSignal, opts: { cwd?: string; remote?: boolean } = {}): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
    let keyDir: string | undefined;
    try {
      if (opts.remote) {
        // Never wait for a password or a host-key question: fail and say why instead.
        const ssh = ['ssh', '-o', 'BatchMode=yes'];
        if (this.cfg.sshPrivateKey || this.cfg.sshHostKey || this.cfg.sshKnownHosts) {
          await mkdir(this.workdir, { recursive: true });
          keyDir = await mkdtemp(join(this.workdir, '.buildbot-ssh'));
          await chmod(keyDir, 0o700);
          if (this.cfg.sshPrivateKey) {
            const key = join(keyDir, 'ssh-key');
            await writeFile(key, this.cfg.sshPrivateKey.endsWith('\n') ? this.cfg.sshPrivateKey : `${this.cfg.sshPrivateKey}\n`, { mode: 0o400 });
            ssh.push('-i', `"${key}"`, '-o', 'IdentitiesOnly=yes');
          }
          if (this.cfg.sshHostKey || this.cfg.sshKnownHosts) {
            const known = join(keyDir, 'ssh-known-hosts');
            await writeFile(known, this.cfg.sshKnownHosts ?? `* ${this.cfg.sshHostKey}\n`);
            ssh.push('-o', `"UserKnownHostsFile=${known}"`);
          }
        }
        if (!process.env.GIT_SSH_COMMAND || keyDir) env.GIT_SSH_COMMAND = ssh.join(' ');
      }
      const { stdout } = await runVcs(this.cfg.gitbin, args, { cwd: opts.cwd, env, signal, encoding: this.cfg.encoding });
      return stdout;
    } finally {
      if (keyDir) await rm(keyDir, { recursive: true, force: true });
    }
  }

  private trackerRef(branch: string): string {
    return `refs/buildbot/${pyQuote(this.cfg.repourl)}/${removeHeads(branch)}`;
  }

  /** The remote refs to follow (full refs for true/functions, names for a list), sorted. */
  private chooseBranches(remoteRefs: string[]): string[] {
    const b = this.cfg.branches;
    if (b === true) return remoteRefs.filter((r) => r.startsWith('refs/heads/'));
    if (typeof b === 'function') return remoteRefs.filter((r) => b(r));
    const remote = new Set(remoteRefs.map(removeHeads));
    return [...new Set(b.map(removeHeads))].filter((x) => remote.has(x)).sort();
  }

  protected async poll(ctx: PollContext): Promise<void> {
    const { signal } = ctx;
    const lastRev = await ctx.loadState<Record<string, string>>('lastRev', {});
    await mkdir(this.workdir, { recursive: true });
    await this.git(['init', '--bare', '--quiet', this.workdir], signal);
    const listing = await this.git(['ls-remote', '--refs', this.cfg.repourl], signal, { remote: true });
    const refs = listing.split('\n').filter((l) => l.includes('\t')).map((l) => l.split('\t')[1]!.trim());
    const branches = this.chooseBranches(refs);
    if (branches.length > 0) {
      const refspecs = branches.map((b) => `+${removeHeads(b)}:${this.trackerRef(b)}`);
      await this.git(['fetch', '--quiet', this.cfg.repourl, ...refspecs], signal, { cwd: this.workdir, remote: true });
    }
    const revs: Record<string, string> = {};
    for (const b of branches) revs[b] = (await this.git(['rev-parse', this.trackerRef(b)], signal, { cwd: this.workdir })).trim();

    if (Object.keys(lastRev).length === 0) {
      // First poll: record the heads only, as Buildbot (all history would flood the schedulers).
      if (Object.keys(revs).length > 0) {
        await ctx.saveState({ lastRev: revs });
        this.logger.info({ event: 'changes.firstPoll', heads: revs }, `${this.cfg.name}: first poll, recorded ${Object.keys(revs).length} head(s)`);
      }
      return;
    }

    const known = { ...lastRev };
    let saved = lastRev;
    for (const branch of branches) {
      const newRev = revs[branch]!;
      // Buildbot excludes every known head, so a commit already seen on another branch is not new.
      const exclude = [...new Set(Object.values(known))].sort().map((r) => `^${r}`);
      const listed = await this.git(['log', '--ignore-missing', '--format=%H', newRev, ...exclude, '--'], signal, { cwd: this.workdir });
      let commits = listed.split('\n').map((s) => s.trim()).filter(Boolean).reverse();
      if (this.cfg.buildPushesWithNoCommits && commits.length === 0 && known[branch] !== newRev) commits = [newRev];
      known[branch] = newRev;
      if (commits.length === 0) continue;
      const changes: ChangeSpec[] = [];
      for (const rev of commits) changes.push(await this.commitChange(rev, branch, signal));
      const last = changes[changes.length - 1]!;
      await ctx.submit(
        { repository: this.cfg.repourl, branch: removeHeads(branch), author: last.author, source: 'git', changes },
        { lastRev: { ...known } },
      );
      saved = { ...known };
    }
    // Heads that moved without new commits are recorded; branches gone from the remote forgotten (as Buildbot).
    if (!sameHeads(revs, saved)) await ctx.saveState({ lastRev: revs });
  }

  private async commitChange(rev: string, branch: string, signal: AbortSignal): Promise<ChangeSpec> {
    const head = await this.git(['log', '--no-walk', '--format=%ct%x00%aN <%aE>%x00%cN <%cE>%x00%s%n%b%x00', rev, '--'], signal, { cwd: this.workdir });
    const [ct, author, committer, comments] = head.split('\0');
    const files = (await this.git(['log', '--no-walk', '--name-only', '--format=', '-z', rev, '--'], signal, { cwd: this.workdir }))
      .split('\0')
      .map((f) => f.replace(/^\n+/, ''))
      .filter(Boolean);
    const when = Number.parseInt(ct ?? '', 10);
    const change: ChangeSpec = {
      author: (author ?? '').trim(),
      committer: (committer ?? '').trim() || null,
      revision: rev,
      files,
      comments: (comments ?? '').trim(),
      when_timestamp: this.cfg.usetimestamps && Number.isFinite(when) ? when : null,
      branch: removeHeads(branch),
      project: this.cfg.project,
      repository: this.cfg.repourl,
      src: 'git',
    };
    return fitChange(change, this.cfg.category);
  }
}
