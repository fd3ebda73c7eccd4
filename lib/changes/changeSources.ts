import type { ResolvedChangeSource } from '../config/resolved.js';
import { GitPoller } from './gitPoller.js';
import { HgPoller } from './hgPoller.js';
import type { Poller, PollerDeps } from './pollerBase.js';

/** The poller for one configured change source. */
export function createPoller(deps: PollerDeps, source: ResolvedChangeSource): Poller {
  switch (source.kind) {
    case 'GitPoller':
      return new GitPoller(deps, source);
    case 'HgPoller':
      return new HgPoller(deps, source);
  }
}

/**
 * The configured change sources of one master. Every master starts all of them; each polls only
 * on the master holding its changesource_masters claim (see Poller).
 */
export class ChangeSources {
  private constructor(readonly pollers: readonly Poller[]) {}

  static start(deps: PollerDeps, sources: readonly ResolvedChangeSource[]): ChangeSources {
    // A git workdir is shared safely (refs per URL); an hg clone holds one repository.
    const hgClones = new Map<string, string>();
    for (const s of sources) {
      if (s.kind !== 'HgPoller') continue;
      const other = hgClones.get(s.workdir);
      if (other !== undefined && other !== s.repourl) {
        deps.logger.warn(
          { event: 'changes.sharedHgWorkdir', workdir: s.workdir, changeSources: [other, s.repourl] },
          `HgPollers of ${other} and ${s.repourl} share the workdir ${s.workdir}: give each repository its own workdir`,
        );
      }
      hgClones.set(s.workdir, s.repourl);
    }
    const pollers = sources.map((s) => createPoller(deps, s));
    for (const p of pollers) p.start();
    return new ChangeSources(pollers);
  }

  get(name: string): Poller | undefined {
    return this.pollers.find((p) => p.name === name);
  }

  /** Stops every poller and releases this master's claims. */
  async stop(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
  }
}
