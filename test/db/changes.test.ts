import { expect } from 'chai';
import { addBuildset } from '../../lib/db/buildsets.js';
import { addBuild, finishBuild } from '../../lib/db/builds.js';
import { addChange, changeSpecProblem, getChange, getChangesForBuild, getChangesSince, getLatestChangeId, type ChangeSpec } from '../../lib/db/changes.js';
import type { Database } from '../../lib/db/connection.js';
import { select } from '../../lib/db/query.js';
import { getSourcestamp } from '../../lib/db/sourcestamps.js';
import { forEachDialect } from '../support/databases.js';
import { countRows } from '../changes/support.js';
import { seed } from './dataSeed.js';

const spec = (extra: Partial<ChangeSpec> = {}): ChangeSpec => ({ author: 'Ann <ann@example.org>', comments: 'msg', revision: 'r1', branch: 'main', repository: 'git://r', project: 'p', when_timestamp: 1_700_000_000, ...extra });

forEachDialect('db changes', (h) => {
  let db: Database;
  beforeEach(async () => {
    db = await h.open();
  });

  it('stores a change with its files, properties [value, "Change"], sourcestamp and Buildbot\'s defaults', async () => {
    const id = await addChange(db, spec({ files: ['a.c', 'dir/b é.h'], properties: { n: 1, obj: { x: [1, 'y'] } }, category: 'cat', committer: 'Carl <c@x>' }));
    const c = await getChange(db, id);
    expect(c).to.deep.include({
      changeid: id, author: 'Ann <ann@example.org>', committer: 'Carl <c@x>', comments: 'msg', branch: 'main', revision: 'r1', revlink: '',
      when_timestamp: 1_700_000_000, category: 'cat', repository: 'git://r', codebase: '', project: 'p', parent_changeids: null,
    });
    expect(c!.files.sort()).to.deep.equal(['a.c', 'dir/b é.h']);
    expect(c!.properties).to.deep.equal({ n: [1, 'Change'], obj: [{ x: [1, 'y'] }, 'Change'] });
    expect(await select(db, 'SELECT property_value FROM change_properties WHERE property_name = ?', ['n'])).to.deep.equal([{ property_value: '[1,"Change"]' }]);
    const ss = await getSourcestamp(db, c!.sourcestampid);
    expect(ss).to.include({ branch: 'main', revision: 'r1', repository: 'git://r', project: 'p', codebase: '' });
    // A second change for the same revision shares the stamp (ss_hash dedup).
    expect((await getChange(db, await addChange(db, spec())))!.sourcestampid).to.equal(c!.sourcestampid);
  });

  it('links a change to the newest one on the same branch/repository/project/codebase, the default branch too', async () => {
    const a = await addChange(db, spec({ revision: 'a' }));
    const other = await addChange(db, spec({ revision: 'x', branch: 'other' }));
    const b = await addChange(db, spec({ revision: 'b' }));
    const d1 = await addChange(db, spec({ revision: 'd1', branch: null }));
    const d2 = await addChange(db, spec({ revision: 'd2', branch: null }));
    const cb = await addChange(db, spec({ revision: 'c', codebase: 'lib' }));
    expect((await getChange(db, a))!.parent_changeids).to.equal(null);
    expect((await getChange(db, other))!.parent_changeids).to.equal(null);
    expect((await getChange(db, b))!.parent_changeids).to.equal(a);
    expect((await getChange(db, d2))!.parent_changeids).to.equal(d1);
    expect((await getChange(db, cb))!.parent_changeids).to.equal(null);
  });

  it('links VCS authors to users (identifier collisions get _2), and hook changes (no src) to none', async () => {
    const g = await addChange(db, spec({ src: 'git' }));
    await addChange(db, spec({ src: 'git', revision: 'r2' }));
    const hgc = await addChange(db, spec({ src: 'hg', revision: 'r3' }));
    await addChange(db, spec({ src: null, revision: 'r4', author: 'hook user' }));
    const users = await select<{ uid: number; identifier: string }>(db, 'SELECT uid, identifier FROM users ORDER BY uid');
    expect(users.map((u) => u.identifier)).to.deep.equal(['Ann <ann@example.org>', 'Ann <ann@example.org>_2']);
    expect(await select(db, 'SELECT attr_type, attr_data FROM users_info ORDER BY uid')).to.deep.equal([
      { attr_type: 'git', attr_data: 'Ann <ann@example.org>' },
      { attr_type: 'hg', attr_data: 'Ann <ann@example.org>' },
    ]);
    const links = await select<{ changeid: number; uid: number }>(db, 'SELECT changeid, uid FROM change_users ORDER BY changeid');
    expect(links).to.have.length(3);
    expect(links[0]).to.deep.equal({ changeid: g, uid: users[0]!.uid });
    expect(links[2]).to.deep.equal({ changeid: hgc, uid: users[1]!.uid });
  });

  it('refuses a change that does not fit, storing nothing', async () => {
    const before = await countRows(db);
    expect(changeSpecProblem(spec({ author: '' }))).to.equal('author is required');
    expect(changeSpecProblem(spec({ revlink: 'x'.repeat(257) }))).to.equal('revlink is longer than 256 characters');
    expect(changeSpecProblem(spec({ branch: 'é'.repeat(255) }))).to.equal(undefined);
    let err: Error | undefined;
    await addChange(db, spec({ files: ['ok', 'f'.repeat(1025)] })).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/^invalid change: file name longer than 1024 characters/);
    expect(await countRows(db)).to.deep.equal(before);
  });

  it('lists changes after an id, oldest first, with a limit, and knows the latest id', async () => {
    expect(await getLatestChangeId(db)).to.equal(0);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await addChange(db, spec({ revision: `r${i}`, files: [`f${i}`] })));
    const since = await getChangesSince(db, ids[1]!, 2);
    expect(since.map((c) => c.changeid)).to.deep.equal([ids[2], ids[3]]);
    expect(since.map((c) => c.files)).to.deep.equal([['f2'], ['f3']]);
    expect(await getLatestChangeId(db)).to.equal(ids[4]);
  });

  it('gives a build\'s changes back to the previous successful build on the same sources (Buildbot\'s getChangesForBuild)', async () => {
    const s = await seed(db);
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push(await addChange(db, spec({ revision: `r${i}` })));
    const build = async (changeid: number, results: number) => {
      const c = (await getChange(db, changeid))!;
      const { brids } = await addBuildset(db, { sourcestamps: [c.sourcestampid], reason: 'r', properties: {}, builderids: [s.builderid] });
      const { buildid } = await addBuild(db, { builderid: s.builderid, buildrequestid: brids[s.builderid]!, workerid: s.workerid, masterid: s.masterid, state_string: 'x', started_at: 1 });
      await finishBuild(db, buildid, results, 2);
      return buildid;
    };
    const first = await build(ids[1]!, 0);
    expect((await getChangesForBuild(db, first)).map((c) => c.changeid)).to.deep.equal([ids[1], ids[0]]);
    const failed = await build(ids[2]!, 2);
    expect((await getChangesForBuild(db, failed)).map((c) => c.changeid)).to.deep.equal([ids[2]]);
    const next = await build(ids[3]!, 0);
    expect((await getChangesForBuild(db, next)).map((c) => c.changeid)).to.deep.equal([ids[3], ids[2]]);
  });
});
