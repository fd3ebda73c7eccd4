import { expect } from 'chai';
import type { ResolvedBuilder } from '../../lib/config/resolved.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { getRequest } from '../../lib/db/buildrequests.js';
import { findOrCreateMaster, markMasterActive, markMasterInactive } from '../../lib/db/masters.js';
import { MessageBus } from '../../lib/master/bus.js';
import type { BuilderHandle } from '../../lib/process/handles.js';
import type { CollapseContext } from '../../lib/process/requestCollapser.js';
import { SKIPPED } from '../../lib/process/results.js';
import { submitBuildset } from '../../lib/process/submitBuildset.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';

/** The collapser claims what it completes SKIPPED; like the distributor's, its claims need an active master. */
forEachDialect('collapseRequests claims only while the master is active', (h) => {
  it('a master declared dead collapses nothing (the older request stays pending for a live master); active again, it collapses', async () => {
    const db = await h.open();
    const masterid = await findOrCreateMaster(db, 'test:/m');
    await markMasterActive(db, masterid, 1000);
    const builderid = await findOrCreateBuilder(db, 'b');
    const builder: BuilderHandle = { name: 'b', builderid, config: { name: 'b' } as ResolvedBuilder, getOldestRequestTime: async () => undefined };
    let clock = 2000;
    const ctx: CollapseContext = {
      db, bus: new MessageBus(), logger: silentLogger(), masterid, master: {}, now: () => ++clock,
      collapseSettingFor: (id) => (id === builderid ? { builder, setting: true } : undefined),
    };
    const submit = () => submitBuildset(ctx, {
      scheduler: 's',
      sourcestamps: [{ codebase: '', repository: 'r', branch: 'main', revision: null, project: '' }],
      reason: 'r',
      properties: {},
      builderids: [builderid],
    });
    const first = await submit();
    expect(await markMasterInactive(db, masterid)).to.equal(true); // another master declared it dead
    const second = await submit();
    expect(await getRequest(db, first.brids[builderid]!)).to.include({ complete: 0, claimed_by_masterid: null });
    await markMasterActive(db, masterid, 3000); // rejoined
    await submit();
    for (const r of [first, second]) expect(await getRequest(db, r.brids[builderid]!)).to.include({ complete: 1, results: SKIPPED, claimed_by_masterid: masterid });
  });
});
