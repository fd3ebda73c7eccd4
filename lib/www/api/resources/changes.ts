/**
 * changes (Buildbot's data/changes.py): /changes[/{id}], a build's changes, a sourcestamp's.
 * As in Buildbot only `changeid` maps to SQL, and a page read in SQL comes back reversed (its
 * getChanges returns `reversed(...)`): `/changes?order=-changeid&limit=50` lists the newest 50
 * oldest first, with meta.total the page's length. Kept for compatibility with its clients.
 */
import type { Change } from '../../../db/changes.js';
import { getChangeFromSourcestamp, getChanges, getChangesForBuild } from '../../../db/changes.js';
import type { Database } from '../../../db/connection.js';
import type { Item } from '../applySpec.js';
import { F } from '../fields.js';
import { buildIdOf } from '../nesting.js';
import { selectPage, type SqlSource } from '../sqlQuery.js';
import type { ApiModule, ApiRequest, ListResult } from '../types.js';
import { sourcestampItems } from './sourcestamps.js';

const CHANGE = {
  name: 'change',
  plural: 'changes',
  fields: {
    changeid: F.int(),
    parent_changeids: F.list('integer'),
    author: F.str(),
    committer: F.str(),
    files: F.list('string'),
    comments: F.str(),
    revision: F.str(true),
    when_timestamp: F.int(),
    branch: F.str(true),
    category: F.str(true),
    revlink: F.str(true),
    properties: F.obj(),
    repository: F.str(),
    project: F.str(),
    codebase: F.str(),
    sourcestamp: F.obj(),
  },
};

const SOURCE: SqlSource = { from: 'changes', select: 'changes.changeid', columns: { changeid: 'changes.changeid' } };

/** Changes as API items (Buildbot's _fixChange), in the order given. */
export async function changeItems(db: Database, changes: readonly Change[]): Promise<Item[]> {
  const stamps = await sourcestampItems(db, changes.map((c) => Number(c.sourcestampid)));
  return changes.map((c) => ({
    changeid: Number(c.changeid),
    parent_changeids: c.parent_changeids === null ? [] : [Number(c.parent_changeids)],
    author: c.author,
    committer: c.committer,
    files: c.files,
    comments: c.comments,
    revision: c.revision,
    when_timestamp: Number(c.when_timestamp),
    branch: c.branch,
    category: c.category,
    revlink: c.revlink,
    properties: c.properties,
    repository: c.repository,
    project: c.project,
    codebase: c.codebase,
    sourcestamp: stamps.get(Number(c.sourcestampid)) ?? null,
  }));
}

async function listChanges(r: ApiRequest): Promise<ListResult> {
  if ('buildid' in r.args || 'build_number' in r.args) {
    const buildid = await buildIdOf(r.db, r.args);
    return { items: buildid === undefined ? [] : await changeItems(r.db, await getChangesForBuild(r.db, buildid)) };
  }
  if (typeof r.args.ssid === 'number') {
    const change = await getChangeFromSourcestamp(r.db, r.args.ssid);
    return { items: change ? await changeItems(r.db, [change]) : [] };
  }
  const page = await selectPage<{ changeid: number }>(r.db, SOURCE, r.spec);
  const ids = page.rows.map((x) => Number(x.changeid)).reverse();
  const changes: Change[] = [];
  for (let i = 0; i < ids.length; i += 500) changes.push(...(await getChanges(r.db, ids.slice(i, i + 500))));
  // Buildbot's reversed() drops the count: meta.total is what is returned.
  return { items: await changeItems(r.db, changes) };
}

async function getChange(r: ApiRequest): Promise<Item | undefined> {
  const [change] = await getChanges(r.db, [r.args.changeid as number]);
  return change ? (await changeItems(r.db, [change]))[0] : undefined;
}

export const changesModule: ApiModule = {
  endpoints: [
    { type: CHANGE, kind: 'item', paths: '/changes/n:changeid', get: getChange },
    {
      type: CHANGE,
      kind: 'collection',
      rootLink: 'changes',
      paths: '/changes /builders/n:builderid/builds/n:build_number/changes /builds/n:buildid/changes /sourcestamps/n:ssid/changes',
      get: listChanges,
    },
  ],
};
