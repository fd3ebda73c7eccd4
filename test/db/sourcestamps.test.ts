import { expect } from 'chai';
import { findOrCreateSourcestamp, getSourcestamp, patchBody } from '../../lib/db/sourcestamps.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db/sourcestamps', (h) => {
  it('stores the all-default stamp with Buildbot\'s ss_hash and dedups it', async () => {
    const db = await h.open();
    const id = await findOrCreateSourcestamp(db, {}, undefined, 77);
    expect(await findOrCreateSourcestamp(db, { repository: '', project: '', codebase: '', branch: null })).to.equal(id);
    expect(await getSourcestamp(db, id)).to.deep.equal({
      id, ss_hash: '835fccf6db3694afb48c380997024542c0bc162d', branch: null, revision: null, patchid: null,
      repository: '', codebase: '', project: '', created_at: 77, patch: null,
    });
  });

  it('dedups on every column: a different revision or codebase is a different stamp', async () => {
    const db = await h.open();
    const base = { branch: 'main', revision: 'abc', repository: 'https://x/r.git', project: 'p', codebase: 'cb' };
    const a = await findOrCreateSourcestamp(db, base);
    expect(await findOrCreateSourcestamp(db, { ...base })).to.equal(a);
    const b = await findOrCreateSourcestamp(db, { ...base, revision: 'def' });
    const c = await findOrCreateSourcestamp(db, { ...base, codebase: '' });
    expect(new Set([a, b, c]).size).to.equal(3);
  });

  it('gives every patched stamp its own patches row and stamp', async () => {
    const db = await h.open();
    const patch = { body: 'diff --git a/x b/x\n+ü\n', level: 2, author: 'me', comment: 'try', subdir: 'src' };
    const a = await findOrCreateSourcestamp(db, { branch: 'main', patch });
    const b = await findOrCreateSourcestamp(db, { branch: 'main', patch });
    expect(a).to.not.equal(b);
    const stamp = (await getSourcestamp(db, a))!;
    expect(stamp.patch).to.include({ patchlevel: 2, patch_author: 'me', patch_comment: 'try', subdir: 'src' });
    expect(patchBody(stamp.patch!).toString('utf8')).to.equal(patch.body);
    expect(stamp.patchid).to.equal(stamp.patch!.id);
  });

  it('finds one stamp when many transactions on two connections create the same one at once', async () => {
    const db1 = await h.open();
    const db2 = await h.connect();
    const spec = { branch: 'main', revision: 'race', repository: 'r' };
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => {
      const db = i % 2 ? db1 : db2;
      return db.transaction(async (t) => {
        const id = await findOrCreateSourcestamp(db, spec, t);
        await new Promise((r) => setTimeout(r, 20)); // hold the transaction open a while
        return id;
      });
    }));
    expect(new Set(ids).size).to.equal(1);
    const [rows] = await db1.sequelize.query('SELECT COUNT(*) AS n FROM sourcestamps');
    expect(Number((rows as { n: number }[])[0]!.n)).to.equal(1);
  });
});
