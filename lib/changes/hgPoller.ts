import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { ResolvedHgPoller } from '../config/resolved.js';
import type { ChangeSpec } from '../db/changes.js';
import { fitChange } from './fitChange.js';
import { Poller, type PollContext, type PollerDeps } from './pollerBase.js';
import { runVcs } from './vcsCommand.js';
import { VcsError } from './vcsError.js';

/** A name inside a revset string: branch("literal:…") quoting. */
function revsetString(s: string): string {
  return `"literal:${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One line per changeset: a JSON array (every field JSON-escaped, so descriptions stay on one line). */
const DETAILS_TEMPLATE = '[{node|json},{date|hgdate|json},{author|json},{files|json},{desc|json}]\\n';

/**
 * Buildbot's HgPoller (changes/hgpoller.py): a clone under the master directory (`hg init`, then
 * `hg pull` of the repository each poll); per followed branch or bookmark, the changesets from the
 * last seen head to the new one (`last::head`, Buildbot's revset) become one push, oldest first.
 * The first sight of a branch only records its head; a branch with several heads is skipped (and
 * logged) until a merge makes it one again.
 *
 * State (objects (name, 'HgPoller'), key `lastRev`): {branch: changeset}. We record full changeset
 * ids (Buildbot writes local revision numbers, which hg accepts as well), advanced in the
 * transaction that stores the push.
 */
export class HgPoller extends Poller {
  private readonly workdir: string;

  constructor(
    deps: PollerDeps,
    private readonly cfg: ResolvedHgPoller,
  ) {
    super(deps, cfg, 'HgPoller');
    this.workdir = isAbsolute(cfg.workdir) ? cfg.workdir : join(deps.basedir, cfg.workdir);
  }

  describe(): string {
    const followed = [...this.cfg.branches, ...this.cfg.bookmarks.map((b) => `bookmark ${b}`)].join(', ');
    return `HgPoller watching the remote Mercurial repository '${this.cfg.repourl}', branches: ${followed}, in workdir '${this.workdir}'`;
  }

  private async hg(args: string[], signal: AbortSignal, okCodes?: number[]): Promise<{ code: number; stdout: string }> {
    const env = { ...process.env, HGPLAIN: '1', HGENCODING: 'utf-8' };
    return runVcs(this.cfg.hgbin, ['--noninteractive', ...args], { cwd: this.workdir, env, signal, encoding: 'utf-8', ...(okCodes ? { okCodes } : {}) });
  }

  /** The one open head of a branch (or a bookmark's changeset); undefined when none or several. */
  private async head(name: string, bookmark: boolean, signal: AbortSignal): Promise<string | undefined> {
    const revset = bookmark ? `bookmark(${revsetString(name)})` : `head() and not closed() and branch(${revsetString(name)})`;
    const { code, stdout } = await this.hg(['log', '-r', revset, '-T', '{node}\\n'], signal, [0, 255]);
    if (code !== 0) {
      this.logger.warn({ event: 'changes.hgNoHead', branch: name }, `${this.cfg.name}: no ${bookmark ? 'bookmark' : 'branch'} '${name}' in ${this.cfg.repourl}`);
      return undefined;
    }
    const heads = stdout.split('\n').filter(Boolean);
    if (heads.length > 1) {
      this.logger.warn(
        { event: 'changes.hgSeveralHeads', branch: name, heads },
        `${this.cfg.name}: branch '${name}' has ${heads.length} heads in ${this.cfg.repourl}; staying at the previous revision until they are merged`,
      );
      return undefined;
    }
    return heads[0];
  }

  protected async poll(ctx: PollContext): Promise<void> {
    const { signal } = ctx;
    const lastRev = await ctx.loadState<Record<string, string>>('lastRev', {});
    if (!existsSync(join(this.workdir, '.hg'))) {
      await mkdir(this.workdir, { recursive: true });
      await this.hg(['init', this.workdir], signal);
    }
    await this.hg(['pull', '--quiet', this.cfg.repourl], signal);

    const known = { ...lastRev };
    let dirty = false;
    const followed = [...this.cfg.branches.map((n) => ({ name: n, bookmark: false })), ...this.cfg.bookmarks.map((n) => ({ name: n, bookmark: true }))];
    for (const { name, bookmark } of followed) {
      const head = await this.head(name, bookmark, signal);
      if (!head) continue;
      const prev = known[name];
      if (prev === head) continue;
      known[name] = head;
      if (prev === undefined) {
        // First sight of this branch: start at its head.
        dirty = true;
        continue;
      }
      const nodes = await this.newChangesets(prev, head, signal);
      const changes = await this.details(nodes, name, signal);
      if (changes.length === 0) {
        dirty = true;
        continue;
      }
      await ctx.submit(
        { repository: this.cfg.repourl, branch: name, author: changes[changes.length - 1]!.author, source: 'hg', changes },
        { lastRev: { ...known } },
      );
      dirty = false;
    }
    if (dirty) await ctx.saveState({ lastRev: { ...known } });
  }

  /** prev::head without prev; when empty (a stripped or rewritten branch) or prev is unknown here, the head alone. */
  private async newChangesets(prev: string, head: string, signal: AbortSignal): Promise<string[]> {
    try {
      const { stdout } = await this.hg(['log', '-r', `sort(${prev}::${head} - ${prev}, rev)`, '-T', '{node}\\n'], signal);
      const nodes = stdout.split('\n').filter(Boolean);
      if (nodes.length > 0) return nodes;
    } catch (err) {
      if (!(err instanceof VcsError) || signal.aborted) throw err;
      this.logger.warn({ event: 'changes.hgUnknownRevision', prev, err: err.message }, `${this.cfg.name}: the last seen revision ${prev} is unknown here; taking the head alone`);
    }
    return [head];
  }

  private async details(nodes: string[], branch: string, signal: AbortSignal): Promise<ChangeSpec[]> {
    if (nodes.length === 0) return [];
    const { stdout } = await this.hg(['log', '-r', nodes.join('+'), '-T', DETAILS_TEMPLATE], signal);
    const byNode = new Map<string, ChangeSpec>();
    for (const line of stdout.split('\n').filter(Boolean)) {
      const [node, date, author, files, desc] = JSON.parse(line) as [string, string, string, string[], string];
      const when = Number.parseFloat(date.split(' ')[0] ?? '');
      const change: ChangeSpec = {
        author: author.trim(),
        committer: null,
        revision: node,
        revlink: this.cfg.revlink ? this.cfg.revlink(branch, node) : '',
        files,
        comments: desc.trim(),
        when_timestamp: this.cfg.usetimestamps && Number.isFinite(when) ? Math.floor(when) : null,
        branch,
        project: this.cfg.project,
        repository: this.cfg.repourl,
        src: 'hg',
      };
      byNode.set(node, fitChange(change, this.cfg.category));
    }
    return nodes.map((n) => byNode.get(n)).filter((c): c is ChangeSpec => c !== undefined);
  }
}
