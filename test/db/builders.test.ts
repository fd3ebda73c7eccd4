import { expect } from 'chai';
import {
  findOrCreateBuilder,
  findOrCreateTag,
  getBuilder,
  getBuilderMasterIds,
  getBuilderTags,
  removeBuilderMasters,
  setBuilderMasters,
} from '../../lib/db/builders.js';
import { hashColumns } from '../../lib/db/hash.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import { findOrCreateWorker, getWorker, setConfiguredWorkers } from '../../lib/db/workers.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db/builders', (h) => {
  it('finds or creates builders by name_hash, updating description and tags only when given', async () => {
    const db = await h.open();
    const id = await findOrCreateBuilder(db, 'linux', { description: 'Linux build', tags: ['os', 'fast', 'os'] });
    expect(await getBuilder(db, id)).to.deep.equal({ id, name: 'linux', description: 'Linux build', name_hash: hashColumns('linux') });
    expect(await getBuilderTags(db, id)).to.deep.equal(['fast', 'os']);

    expect(await findOrCreateBuilder(db, 'linux')).to.equal(id);
    expect(await getBuilder(db, id)).to.include({ description: 'Linux build' });
    expect(await getBuilderTags(db, id)).to.deep.equal(['fast', 'os']);

    await findOrCreateBuilder(db, 'linux', { description: null, tags: ['slow', 'os'] });
    expect(await getBuilder(db, id)).to.include({ description: null });
    expect(await getBuilderTags(db, id)).to.deep.equal(['os', 'slow']);
    expect(await findOrCreateTag(db, 'os')).to.equal(await findOrCreateTag(db, 'os'));
    const [tags] = await db.sequelize.query('SELECT name FROM tags ORDER BY name');
    expect(tags).to.deep.equal([{ name: 'fast' }, { name: 'os' }, { name: 'slow' }]);
  });

  it('keeps a master\'s builder_masters rows exactly the configured builders, with their configured workers', async () => {
    const db = await h.open();
    const m = await findOrCreateMaster(db, 'host:/m');
    const m2 = await findOrCreateMaster(db, 'host:/m2');
    const [a, b, c] = [await findOrCreateBuilder(db, 'a'), await findOrCreateBuilder(db, 'b'), await findOrCreateBuilder(db, 'c')];
    const w = await findOrCreateWorker(db, 'w1');

    const first = await setBuilderMasters(db, m, [a, b, a]);
    expect([...first.keys()].sort()).to.deep.equal([a, b].sort());
    await setBuilderMasters(db, m2, [a]);
    await setConfiguredWorkers(db, first.get(a)!, [w]);
    await setConfiguredWorkers(db, first.get(b)!, [w]);

    const second = await setBuilderMasters(db, m, [b, c]);
    expect(second.get(b)).to.equal(first.get(b));
    expect([...second.keys()].sort()).to.deep.equal([b, c].sort());
    expect(await getBuilderMasterIds(db, m)).to.deep.equal(second);
    expect([...(await getBuilderMasterIds(db, m2)).keys()]).to.deep.equal([a]);
    expect((await getWorker(db, w))!.configured_on).to.deep.equal([{ builderid: b, masterid: m }]);

    await removeBuilderMasters(db, m);
    expect((await getBuilderMasterIds(db, m)).size).to.equal(0);
    expect((await getWorker(db, w))!.configured_on).to.deep.equal([]);
  });
});
