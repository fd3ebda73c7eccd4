import { expect } from 'chai';
import { addBuildset } from '../../lib/db/buildsets.js';
import { addBuild } from '../../lib/db/builds.js';
import { getChange, type ChangeSpec } from '../../lib/db/changes.js';
import type { Database } from '../../lib/db/connection.js';
import { addPush, getPush, getPushIdOfChange, lastPushes, type PushSpec } from '../../lib/db/pushes.js';
import { select } from '../../lib/db/query.js';
import { forEachDialect } from '../support/databases.js';
import { countRows } from '../changes/support.js';
import { seed } from './dataSeed.js';

const change = (rev: string, extra: Partial<ChangeSpec> = {}): ChangeSpec => ({ author: 'Ann <a@x>', comments: `commit ${rev}`, revision: rev, branch: 'main', repository: 'git://r', files: [`${rev}.txt`], ...extra });
const push = (revs: string[], extra: Partial<PushSpec> = {}): PushSpec => ({ repository: 'git://r', branch: 'main', author: 'Ann <a@x>', source: 'git', pushed_at: 1000, changes: revs.map((r) => change(r, extra.branch !== undefined ? { branch: extra.branch } : {})), ...extra });

forEachDialect('db pushes', (h) => {
  let db: Database;
  beforeEach(async () => {
    db = await h.open();
  });

  it('stores a push and its changes in order, and reads them back', async () => {
    const { pushid, changeids } = await addPush(db, push(['a', 'b', 'c']));
    expect(changeids).to.have.length(3);
    const p = await getPush(db, pushid);
    expect(p!.push).to.deep.equal({ id: pushid, repository: 'git://r', branch: 'main', author: 'Ann <a@x>', pushed_at: 1000, source: 'git' });
    expect(p!.changes.map((c) => [c.revision, c.files])).to.deep.equal([['a', ['a.txt']], ['b', ['b.txt']], ['c', ['c.txt']]]);
    expect(p!.builds).to.deep.equal([]);
    expect(await getPushIdOfChange(db, changeids[1]!)).to.equal(pushid);
    expect(await select(db, 'SELECT position FROM push_changes ORDER BY changeid')).to.deep.equal([{ position: 0 }, { position: 1 }, { position: 2 }]);
  });

  it('is all or nothing: a change that cannot be stored leaves no row in any table', async () => {
    const before = await countRows(db);
    const bad = push(['ok1', 'ok2']);
    bad.changes = [...bad.changes, change('bad', { author: '' })];
    let err: Error | undefined;
    await addPush(db, bad).catch((e: Error) => (err = e));
    expect(err?.message).to.equal('invalid change: author is required');
    expect(await countRows(db)).to.deep.equal(before);
    await addPush(db, push([])).catch((e: Error) => (err = e));
    expect(err?.message).to.equal('a push needs at least one change');
  });

  it('answers "the last N pushes of a branch" newest first, by repository and branch (null = default), with paging', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await addPush(db, push([`m${i}`]))).pushid);
    const rel = (await addPush(db, push(['r0'], { branch: 'release' }))).pushid;
    const dflt = (await addPush(db, push(['d0'], { branch: null }))).pushid;
    const other = (await addPush(db, push(['o0'], { repository: 'git://other' }))).pushid;
    expect((await lastPushes(db, { repository: 'git://r', branch: 'main', limit: 3 })).map((p) => p.push.id)).to.deep.equal([ids[4], ids[3], ids[2]]);
    expect((await lastPushes(db, { repository: 'git://r', branch: 'main', limit: 3, before: ids[2] })).map((p) => p.push.id)).to.deep.equal([ids[1], ids[0]]);
    expect((await lastPushes(db, { branch: 'release', limit: 10 })).map((p) => p.push.id)).to.deep.equal([rel]);
    expect((await lastPushes(db, { branch: null, limit: 10 })).map((p) => [p.push.id, p.push.branch])).to.deep.equal([[dflt, null]]);
    expect((await lastPushes(db, { limit: 2 })).map((p) => p.push.id)).to.deep.equal([other, dflt]);
    expect((await lastPushes(db, { repository: 'git://other', limit: 10 }))[0]!.changes.map((c) => c.revision)).to.deep.equal(['o0']);
  });

  it('gives each push the builds of its changes', async () => {
    const s = await seed(db);
    const { pushid, changeids } = await addPush(db, push(['a', 'b']));
    await addPush(db, push(['c']));
    const last = (await getChange(db, changeids[1]!))!;
    const { bsid, brids } = await addBuildset(db, { sourcestamps: [last.sourcestampid], reason: 'r', properties: {}, builderids: [s.builderid] });
    const { buildid, number } = await addBuild(db, { builderid: s.builderid, buildrequestid: brids[s.builderid]!, workerid: s.workerid, masterid: s.masterid, state_string: 'building', started_at: 5000 });
    const [newest, older] = await lastPushes(db, { branch: 'main', limit: 2 });
    expect(newest!.builds).to.deep.equal([]);
    expect(older!.push.id).to.equal(pushid);
    expect(older!.builds).to.deep.equal([{
      buildid, number, builderid: s.builderid, buildrequestid: brids[s.builderid], buildsetid: bsid, workerid: s.workerid, masterid: s.masterid,
      started_at: 5000, complete_at: null, state_string: 'building', results: null, changeid: changeids[1],
    }]);
  });

  it('two masters adding pushes at once: every push whole, every change in exactly one push', async () => {
    const other = await h.connect();
    const work = (d: Database, tag: string) => Promise.all(Array.from({ length: 10 }, (_, i) => addPush(d, push([`${tag}${i}a`, `${tag}${i}b`]))));
    await Promise.all([work(db, 'x'), work(other, 'y')]);
    const pushes = await lastPushes(db, { limit: 100 });
    expect(pushes).to.have.length(20);
    for (const p of pushes) expect(p.changes.map((c) => c.revision!.slice(-1))).to.deep.equal(['a', 'b']);
    expect(await select(db, 'SELECT COUNT(DISTINCT changeid) AS n FROM push_changes')).to.deep.equal([{ n: 40 }]);
  });
});
