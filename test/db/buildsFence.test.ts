import { expect } from 'chai';
import { addBuild, completeBuild, finishBuild, getBuild, reviseBuildEnd, setBuildStateString } from '../../lib/db/builds.js';
import { MessageBus } from '../../lib/master/bus.js';
import { housekeepMaster } from '../../lib/master/housekeeping.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';
import { addRequests, seed } from './dataSeed.js';

/** The build end is written once: the first end wins, and a retry of the winner's write is not a loss. */
forEachDialect('db/builds end fence', (h) => {
  async function aBuild() {
    const db = await h.open();
    const s = await seed(db);
    const [brid] = await addRequests(db, s.builderid, 1);
    const { buildid } = await addBuild(db, { builderid: s.builderid, buildrequestid: brid!, workerid: s.workerid, masterid: s.masterid, state_string: 'building', started_at: 500 });
    return { db, s, buildid };
  }

  it('completeBuild: the first end wins; the same end again (a retried write) is still ours; another end loses and changes nothing', async () => {
    const { db, buildid } = await aBuild();
    const retry = { results: RETRY, completeAt: 600, stateString: 'interrupted: master x stopped responding' };
    const success = { results: SUCCESS, completeAt: 601, stateString: 'build successful' };
    expect(await completeBuild(db, buildid, retry)).to.equal(true);
    expect(await completeBuild(db, buildid, retry), 'a retry of the winning write').to.equal(true);
    expect(await completeBuild(db, buildid, success), 'a later, different end').to.equal(false);
    expect(await completeBuild(db, buildid, { ...retry, completeAt: 601 }), 'same results, other time').to.equal(false);
    expect(await getBuild(db, buildid)).to.include({ results: RETRY, complete_at: 600, state_string: retry.stateString });
    // Neither finishBuild nor a late state string touches an ended build.
    expect(await finishBuild(db, buildid, SUCCESS, 700)).to.equal(false);
    await setBuildStateString(db, buildid, 'late text');
    expect(await getBuild(db, buildid)).to.include({ results: RETRY, complete_at: 600, state_string: retry.stateString });
  });

  it('reviseBuildEnd rewrites only its own stored end, and a retry of it is still ours', async () => {
    const { db, buildid } = await aBuild();
    const mine = { results: SUCCESS, completeAt: 600, stateString: 'build successful' };
    const to = { results: RETRY, stateString: 'interrupted: this master lost its claim on the request' };
    expect(await reviseBuildEnd(db, buildid, mine, to), 'an unfinished build is not ours to revise').to.equal(false);
    expect(await completeBuild(db, buildid, mine)).to.equal(true);
    expect(await reviseBuildEnd(db, buildid, { ...mine, completeAt: 599 }, to), 'not the stored end').to.equal(false);
    expect(await reviseBuildEnd(db, buildid, mine, to)).to.equal(true);
    expect(await reviseBuildEnd(db, buildid, mine, to), 'retried').to.equal(true);
    expect(await getBuild(db, buildid)).to.include({ results: RETRY, complete_at: 600, state_string: to.stateString });
  });

  it('housekeeping ends unfinished builds RETRY once and leaves ended ones as they are', async () => {
    const { db, s, buildid } = await aBuild();
    const done = await addBuild(db, { builderid: s.builderid, buildrequestid: (await addRequests(db, s.builderid, 1))[0]!, workerid: s.workerid, masterid: s.masterid, state_string: 's', started_at: 500 });
    expect(await completeBuild(db, done.buildid, { results: SUCCESS, completeAt: 650, stateString: 'build successful' })).to.equal(true);
    const bus = new MessageBus();
    const finished: unknown[] = [];
    bus.subscribe(['builds', '*', 'finished'], (_k, m) => finished.push(m));
    const result = await housekeepMaster(db, bus, silentLogger(), s.masterid, { stateString: 'interrupted: master restarted', now: () => 700 });
    expect(result.builds).to.deep.equal([buildid]);
    expect(finished).to.have.length(1);
    expect(await getBuild(db, buildid)).to.include({ results: RETRY, complete_at: 700, state_string: 'interrupted: master restarted' });
    expect(await getBuild(db, done.buildid)).to.include({ results: SUCCESS, complete_at: 650, state_string: 'build successful' });
  });
});
