import { expect } from 'chai';
import type { ResolvedBuilder } from '../../lib/config/resolved.js';
import { findOrCreateBuilder } from '../../lib/db/builders.js';
import { claimRequests, getRequest } from '../../lib/db/buildrequests.js';
import { getBuildset } from '../../lib/db/buildsets.js';
import type { Database } from '../../lib/db/connection.js';
import { findOrCreateMaster, markMasterActive } from '../../lib/db/masters.js';
import type { SourcestampSpec } from '../../lib/db/sourcestamps.js';
import { MessageBus, type RoutingKey } from '../../lib/master/bus.js';
import type { BuilderHandle } from '../../lib/process/handles.js';
import type { RequestDict } from '../../lib/process/messages.js';
import type { CollapseContext } from '../../lib/process/requestCollapser.js';
import { SKIPPED, SUCCESS } from '../../lib/process/results.js';
import { submitBuildset } from '../../lib/process/submitBuildset.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';

const STAMP: SourcestampSpec = { codebase: '', repository: 'https://example.org/r.git', branch: 'main', revision: null, project: '' };

forEachDialect('collapseRequests when a buildset is added', (h) => {
  let db: Database;
  let bus: MessageBus;
  let masterid: number;
  let builderid: number;
  let setting: boolean | ((...args: never[]) => unknown);
  let events: string[];
  let clock: number;

  beforeEach(async () => {
    db = await h.open();
    bus = new MessageBus();
    masterid = await findOrCreateMaster(db, 'test:/m');
    await markMasterActive(db, masterid, 1_700_000_000); // collapse claims are fenced: only an active master's
    builderid = await findOrCreateBuilder(db, 'b');
    setting = true;
    events = [];
    clock = 1_700_000_000;
    bus.subscribe(['*', '*', '*'], (k: RoutingKey) => events.push(k.join('.')));
  });

  function ctx(): CollapseContext {
    const builder: BuilderHandle = { name: 'b', builderid, config: { name: 'b' } as ResolvedBuilder, getOldestRequestTime: async () => undefined };
    return {
      db, bus, logger: silentLogger(), masterid, master: { id: 'm' },
      now: () => ++clock,
      collapseSettingFor: (id) => (id === builderid ? { builder, setting: setting as boolean } : undefined),
    };
  }

  function submit(stamp: SourcestampSpec = STAMP, props: Record<string, [unknown, string]> = {}) {
    return submitBuildset(ctx(), {
      scheduler: 'sched',
      sourcestamps: [stamp],
      reason: 'r',
      properties: { scheduler: ['sched', 'Scheduler'], ...props },
      builderids: [builderid],
    });
  }

  it('completes an older equivalent pending request SKIPPED, and its buildset', async () => {
    const old = await submit();
    const fresh = await submit();
    const oldBr = await getRequest(db, old.brids[builderid]);
    expect(oldBr).to.include({ complete: 1, results: SKIPPED, claimed_by_masterid: masterid });
    expect(await getRequest(db, fresh.brids[builderid])).to.include({ complete: 0, claimed_by_masterid: null });
    expect(await getBuildset(db, old.bsid)).to.include({ complete: 1, results: SUCCESS });
    const brid = old.brids[builderid];
    expect(events).to.include.members([`buildrequests.${brid}.claimed`, `buildrequests.${brid}.complete`, `buildsets.${old.bsid}.complete`]);
    // The new request is announced after the collapse, as Buildbot does.
    expect(events.indexOf(`buildrequests.${fresh.brids[builderid]}.new`)).to.be.greaterThan(events.indexOf(`buildrequests.${brid}.complete`));
  });

  it('keeps requests with other revisions, branches, patches or scheduler properties', async () => {
    const a = await submit({ ...STAMP, revision: 'abc' });
    const b = await submit({ ...STAMP, revision: 'def' });
    const c = await submit({ ...STAMP, revision: 'def', branch: 'other' });
    const d = await submit({ ...STAMP, revision: 'def', branch: 'other' }, { flavour: ['x', 'Scheduler'] });
    const e = await submit({ ...STAMP, revision: 'def', branch: 'other', patch: { body: 'diff' } }, { flavour: ['x', 'Scheduler'] });
    for (const x of [a, b, c, d, e]) expect((await getRequest(db, x.brids[builderid]))?.complete).to.equal(0);
  });

  it('ignores properties that do not come from a scheduler', async () => {
    const a = await submit(STAMP, { reason: ['one', 'Force Build Form'] });
    await submit(STAMP, { reason: ['two', 'Force Build Form'] });
    expect((await getRequest(db, a.brids[builderid]))?.results).to.equal(SKIPPED);
  });

  it('leaves claimed requests alone, and collapses nothing when collapseRequests is false', async () => {
    const claimed = await submit();
    const other = await findOrCreateMaster(db, 'other:/m');
    await claimRequests(db, [claimed.brids[builderid]], other, clock);
    const pending = await submit();
    expect((await getRequest(db, claimed.brids[builderid]))?.complete).to.equal(0);
    setting = false;
    await submit();
    expect((await getRequest(db, pending.brids[builderid]))?.complete).to.equal(0);
  });

  it('calls a user collapseRequests with the master, the builder and request dicts', async () => {
    const calls: { master: unknown; builder: string; newer: RequestDict; older: RequestDict }[] = [];
    setting = (master: unknown, builder: BuilderHandle, newer: RequestDict, older: RequestDict) => {
      calls.push({ master, builder: builder.name, newer, older });
      return true;
    };
    const a = await submit({ ...STAMP, revision: '1' });
    const b = await submit({ ...STAMP, revision: '2' });
    expect(calls).to.have.length(1);
    expect(calls[0].master).to.deep.equal({ id: 'm' });
    expect(calls[0].builder).to.equal('b');
    expect(calls[0].newer).to.include({ buildrequestid: b.brids[builderid], buildsetid: b.bsid, claimed: false, complete: false, results: -1 });
    expect(calls[0].older.buildrequestid).to.equal(a.brids[builderid]);
    expect((await getRequest(db, a.brids[builderid]))?.results).to.equal(SKIPPED);
  });
});
