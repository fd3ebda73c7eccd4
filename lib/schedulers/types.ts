/**
 * What a scheduler is given by the master, and what user functions (fileIsImportant, filter_fn)
 * see of a change.
 */
import type { Database } from '../db/connection.js';
import type { SchedulerChange } from '../db/schedulers.js';
import type { MessageBus } from '../master/bus.js';
import type { CollapseContext } from '../process/requestCollapser.js';
import type { Logger } from '../util/log.js';

export interface SchedulerDeps {
  db: Database;
  bus: MessageBus;
  logger: Logger;
  masterid: number;
  /** The master's context for new buildsets (collapsing older requests, announcing). */
  buildsetContext: CollapseContext;
  /** The builderid of a configured builder, undefined for an unknown name. */
  builderId(name: string): number | undefined;
  /** While inactive, how often a scheduler tries to claim itself; while active, how often it checks its claim. */
  claimIntervalMs: number;
  /** How often an active scheduler looks in the DB for changes and buildsets other masters added. */
  pollIntervalMs: number;
  /** Secrets, for the Try scheduler's userpass/token. */
  secrets?: (name: string) => Promise<string | undefined>;
}

/** A change as Buildbot's Change object shows it to user functions (attribute names as Buildbot's). */
export interface ChangeHandle {
  number: number;
  changeid: number;
  who: string;
  author: string;
  committer: string | null;
  comments: string;
  files: string[];
  branch: string | null;
  revision: string | null;
  revlink: string | null;
  when: number;
  when_timestamp: number;
  category: string | null;
  repository: string;
  codebase: string;
  project: string;
  /** name → value. */
  properties: Record<string, unknown>;
  sourcestampid: number;
}

export function changeHandle(c: SchedulerChange): ChangeHandle {
  return {
    number: c.changeid,
    changeid: c.changeid,
    who: c.author,
    author: c.author,
    committer: c.committer,
    comments: c.comments,
    files: [...c.files],
    branch: c.branch,
    revision: c.revision,
    revlink: c.revlink,
    when: c.when_timestamp,
    when_timestamp: c.when_timestamp,
    category: c.category,
    repository: c.repository,
    codebase: c.codebase,
    project: c.project,
    properties: Object.fromEntries(Object.entries(c.properties).map(([k, [v]]) => [k, v])),
    sourcestampid: c.sourcestampid,
  };
}
