import { expect } from 'chai';
import { findOrCreateBuilder, setBuilderMasters } from '../../lib/db/builders.js';
import { findOrCreateMaster } from '../../lib/db/masters.js';
import {
  disconnectAllWorkers,
  findOrCreateWorker,
  getWorker,
  getWorkerRow,
  setConfiguredWorkers,
  setWorkerState,
  updateWorkerInfo,
  workerConnected,
  workerDisconnected,
} from '../../lib/db/workers.js';
import { forEachDialect } from '../support/databases.js';

forEachDialect('db/workers', (h) => {
  it('finds or creates workers by name, with JSON info', async () => {
    const db = await h.open();
    const id = await findOrCreateWorker(db, 'slave-1', { os: 'linux' });
    expect(await findOrCreateWorker(db, 'slave-1', { os: 'ignored' })).to.equal(id);
    expect(await getWorkerRow(db, id)).to.deep.equal({ id, name: 'slave-1', info: '{"os":"linux"}', paused: 0, graceful: 0 });
    await updateWorkerInfo(db, id, { os: 'macos', admin: 'ü <a@b>' });
    expect((await getWorker(db, id))!.workerinfo).to.deep.equal({ os: 'macos', admin: 'ü <a@b>' });
    expect(await getWorker(db, id + 1)).to.equal(undefined);
  });

  it('records connections idempotently per master and pauses/gracefuls by flag', async () => {
    const db = await h.open();
    const w = await findOrCreateWorker(db, 'w');
    const m1 = await findOrCreateMaster(db, 'host:/1');
    const m2 = await findOrCreateMaster(db, 'host:/2');
    await workerConnected(db, w, m1);
    await workerConnected(db, w, m1);
    await workerConnected(db, w, m2);
    expect((await getWorker(db, w))!.connected_to).to.deep.equal([m1, m2]);
    await workerDisconnected(db, w, m1);
    await workerDisconnected(db, w, m1);
    expect((await getWorker(db, w))!.connected_to).to.deep.equal([m2]);
    expect(await disconnectAllWorkers(db, m2)).to.equal(1);
    expect((await getWorker(db, w))!.connected_to).to.deep.equal([]);

    await setWorkerState(db, w, { paused: true });
    expect(await getWorker(db, w)).to.include({ paused: true, graceful: false });
    await setWorkerState(db, w, { graceful: true });
    expect(await getWorker(db, w)).to.include({ paused: true, graceful: true });
    await setWorkerState(db, w, { paused: false });
    await setWorkerState(db, w, {});
    expect(await getWorker(db, w)).to.include({ paused: false, graceful: true });
  });

  it('sets exactly the configured workers of a builder on a master', async () => {
    const db = await h.open();
    const m = await findOrCreateMaster(db, 'host:/m');
    const b = await findOrCreateBuilder(db, 'b');
    const bmid = (await setBuilderMasters(db, m, [b])).get(b)!;
    const [w1, w2, w3] = [await findOrCreateWorker(db, 'w1'), await findOrCreateWorker(db, 'w2'), await findOrCreateWorker(db, 'w3')];
    await setConfiguredWorkers(db, bmid, [w1, w2, w1]);
    await setConfiguredWorkers(db, bmid, [w2, w3]);
    const configured = async (w: number) => (await getWorker(db, w))!.configured_on;
    expect(await configured(w1)).to.deep.equal([]);
    expect(await configured(w2)).to.deep.equal([{ builderid: b, masterid: m }]);
    expect(await configured(w3)).to.deep.equal([{ builderid: b, masterid: m }]);
    await setConfiguredWorkers(db, bmid, []);
    expect(await configured(w2)).to.deep.equal([]);
  });
});
