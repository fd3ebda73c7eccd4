import { expect } from 'chai';
import { addBuild } from '../../../lib/db/builds.js';
import type { Database } from '../../../lib/db/connection.js';
import { remove } from '../../../lib/db/query.js';
import { cachedCount } from '../../../lib/www/api/countCache.js';
import { forEachDialect } from '../../support/databases.js';
import { addRequests, seed } from '../../db/dataSeed.js';

forEachDialect('data API: meta.total of big tables (countCache)', (h) => {
  let db: Database;

  async function addBuilds(n: number, s: Awaited<ReturnType<typeof seed>>): Promise<number[]> {
    const [brid] = await addRequests(db, s.builderid, 1);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push((await addBuild(db, { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, masterid: s.masterid, state_string: 'x' })).buildid);
    return ids;
  }

  beforeEach(async () => {
    db = await h.open();
  });

  it('counts new rows at once and deletions after the refresh', async () => {
    const s = await seed(db);
    const ids = await addBuilds(5, s);
    // slowMs -1: treat every count as slow, so the split (cached prefix + live tail) is used.
    const count = (refreshMs: number) => cachedCount(db, 'builds', 'builds.id', ' WHERE builds.builderid = ?', [s.builderid], { slowMs: -1, refreshMs });
    expect(await count(60_000)).to.equal(5);
    await addBuilds(2, s);
    expect(await count(60_000)).to.equal(7);
    await remove(db, 'DELETE FROM builds WHERE id = ?', [ids[0]]);
    expect(await count(60_000)).to.equal(7, 'a deletion shows only after the refresh');
    // A stale entry answers from the cache and refreshes in the background.
    let seen = await count(0);
    for (let i = 0; i < 100 && seen !== 6; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await count(0);
    }
    expect(seen).to.equal(6);
  });

  it('counts plainly while counting is fast', async () => {
    const s = await seed(db);
    await addBuilds(3, s);
    expect(await cachedCount(db, 'builds', 'builds.id', '', [], { slowMs: Infinity })).to.equal(3);
    await remove(db, 'DELETE FROM builds WHERE builderid = ?', [s.builderid]);
    expect(await cachedCount(db, 'builds', 'builds.id', '', [], { slowMs: Infinity })).to.equal(0);
  });
});
