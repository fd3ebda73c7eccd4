import { expect } from 'chai';
import { claimChangesource, findOrCreateChangesource, getChangesourceMasters, holdsChangesource, releaseChangesources } from '../../lib/db/changesources.js';
import type { Database } from '../../lib/db/connection.js';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db changesources', (h) => {
  let db: Database;
  const NOW = 10_000;
  beforeEach(async () => {
    db = await h.open();
  });

  async function liveMaster(name: string): Promise<number> {
    const id = await findOrCreateMaster(db, name);
    await markMasterActive(db, id, NOW);
    return id;
  }

  it('finds or creates a change source by name (name_hash as Buildbot)', async () => {
    const a = await findOrCreateChangesource(db, 'git://example.org/repo.git');
    expect(await findOrCreateChangesource(db, 'git://example.org/repo.git')).to.equal(a);
    expect(await findOrCreateChangesource(db, 'other')).to.not.equal(a);
  });

  it('lets exactly one of two masters claiming at once win, on two connections', async () => {
    const other = await h.connect();
    const m1 = await liveMaster('m1');
    const m2 = await liveMaster('m2');
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => findOrCreateChangesource(db, `cs${i}`)));
    const results = await Promise.all(ids.flatMap((id) => [claimChangesource(db, id, m1, NOW - 60), claimChangesource(other, id, m2, NOW - 60)]));
    for (let i = 0; i < ids.length; i++) expect([results[2 * i], results[2 * i + 1]].sort()).to.deep.equal(['claimed', 'conflict']);
    const holders = await getChangesourceMasters(db);
    expect([...holders.keys()].sort()).to.deep.equal([...ids].sort());
    // Claiming again what one holds is 'held'.
    const [id0] = ids;
    const holder = holders.get(id0!)!;
    expect(await claimChangesource(db, id0!, holder, NOW - 60)).to.equal('held');
  });

  it('takes a claim over from an inactive or silent master only, and releases its own', async () => {
    const m1 = await liveMaster('m1');
    const m2 = await liveMaster('m2');
    const cs = await findOrCreateChangesource(db, 'cs');
    expect(await claimChangesource(db, cs, m1, NOW - 60)).to.equal('claimed');
    expect(await claimChangesource(db, cs, m2, NOW - 60)).to.equal('conflict');
    // m1 silent for longer than the timeout: m2 takes over.
    expect(await claimChangesource(db, cs, m2, NOW + 1)).to.equal('claimed');
    expect(await db.transaction((t) => holdsChangesource(db, cs, m1, t))).to.equal(false);
    expect(await db.transaction((t) => holdsChangesource(db, cs, m2, t))).to.equal(true);
    // m2 marked inactive (expired): m1 takes it back.
    await markMasterActive(db, m1, NOW);
    await markMasterInactive(db, m2);
    expect(await claimChangesource(db, cs, m1, NOW - 60)).to.equal('claimed');
    await releaseChangesources(db, m1);
    expect((await getChangesourceMasters(db)).size).to.equal(0);
  });
});
