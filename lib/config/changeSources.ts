/**
 * Change source declarations for master.config.ts (Buildbot's `changes.*`; Buildbot's
 * c['change_source'] is `changeSources` here). lib/changes runs them.
 */
import type { Duration } from './duration.js';

interface PollerOptions {
  /** Unique among change sources; default the repository URL. */
  name?: string;
  /** Seconds (or '10m'…) between polls; default 600. */
  pollInterval?: Duration;
  /** Poll once at start-up instead of waiting a first interval (default false). */
  pollAtLaunch?: boolean;
  pollRandomDelayMin?: Duration;
  pollRandomDelayMax?: Duration;
  category?: string | ((change: any) => string);
  project?: string;
  /** Use the commit time as the change time (default true); else the time it was seen. */
  usetimestamps?: boolean;
  /** Directory for the poller's clone, relative to the master directory. */
  workdir?: string;
  encoding?: string;
}

export interface GitPollerOptions extends PollerOptions {
  repourl: string;
  /** Branches to follow: names, true for all heads, or a function of the full ref. Default ['master']. */
  branches?: string[] | true | ((ref: string) => boolean);
  /** A single branch (instead of branches). */
  branch?: string;
  /** Follow tags instead of branches. */
  only_tags?: boolean;
  /** Make a change for a push of an existing commit to another branch. */
  buildPushesWithNoCommits?: boolean;
  gitbin?: string;
  sshPrivateKey?: string;
  sshHostKey?: string;
  sshKnownHosts?: string;
}

export interface HgPollerOptions extends PollerOptions {
  repourl: string;
  /** Default ['default']. */
  branches?: string[];
  branch?: string;
  bookmarks?: string[];
  hgbin?: string;
  revlink?: (branch: string, revision: string) => string;
}

export class GitPoller {
  readonly kind = 'GitPoller' as const;
  readonly options: Readonly<GitPollerOptions>;
  constructor(options: GitPollerOptions) {
    this.options = { ...options };
  }
}

export class HgPoller {
  readonly kind = 'HgPoller' as const;
  readonly options: Readonly<HgPollerOptions>;
  constructor(options: HgPollerOptions) {
    this.options = { ...options };
  }
}

export type ChangeSource = GitPoller | HgPoller;
export type ChangeSourceKind = ChangeSource['kind'];
