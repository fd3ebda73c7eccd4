import type { Change } from '../db/changes.js';
import type { PushRow } from '../db/pushes.js';
import type { SourcestampWithPatch } from '../db/sourcestamps.js';

/** A sourcestamp as the REST API shows it (Buildbot's sourcestamps resource). */
export function sourcestampResource(ss: SourcestampWithPatch): Record<string, unknown> {
  return {
    ssid: ss.id,
    branch: ss.branch,
    revision: ss.revision,
    project: ss.project,
    repository: ss.repository,
    codebase: ss.codebase,
    created_at: Number(ss.created_at),
    patch: ss.patch
      ? { patchid: ss.patch.id, level: ss.patch.patchlevel, subdir: ss.patch.subdir, author: ss.patch.patch_author, comment: ss.patch.patch_comment, body: Buffer.from(ss.patch.patch_base64, 'base64').toString('utf8') }
      : null,
  };
}

/** A change as the REST API shows it (Buildbot's changes resource), which is also its 'new' event. */
export function changeResource(c: Change, ss: SourcestampWithPatch | undefined): Record<string, unknown> {
  return {
    changeid: c.changeid,
    parent_changeids: c.parent_changeids === null ? [] : [c.parent_changeids],
    author: c.author,
    committer: c.committer,
    files: c.files,
    comments: c.comments,
    revision: c.revision,
    when_timestamp: c.when_timestamp,
    branch: c.branch,
    category: c.category,
    revlink: c.revlink,
    properties: c.properties,
    repository: c.repository,
    project: c.project,
    codebase: c.codebase,
    sourcestamp: ss ? sourcestampResource(ss) : null,
  };
}

/** A push as its 'new' event carries it. */
export function pushResource(p: PushRow, changeids: readonly number[]): Record<string, unknown> {
  return { pushid: p.id, repository: p.repository, branch: p.branch, author: p.author, pushed_at: p.pushed_at, source: p.source, changeids: [...changeids] };
}
