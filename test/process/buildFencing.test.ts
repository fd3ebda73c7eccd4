import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShellCommand } from '../../lib/config/steps.js';
import { claimRequests, completeRequests, getRequest, releaseMasterClaims } from '../../lib/db/buildrequests.js';
import { getBuild } from '../../lib/db/builds.js';
import { findOrCreateMaster, markMasterActive } from '../../lib/db/masters.js';
import { getSteps } from '../../lib/db/steps.js';
import { MessageBus } from '../../lib/master/bus.js';
import { MasterExpiry } from '../../lib/master/expiry.js';
import { RETRY, SUCCESS } from '../../lib/process/results.js';
import { silentLogger } from '../../lib/util/log.js';
import { forEachDialect } from '../support/databases.js';
import { makeWorld, useSshdPerSuite, waitUntil, type BuildWorld } from './buildHarness.js';

/**
 * Issue 5, the stalled master: its build finishes in the seconds between another master declaring
 * it dead and its own next heartbeat. The build must not turn the RETRY the expirer wrote into a
 * SUCCESS, nor complete a request that is being built again elsewhere: one request, one
 * successful build. The build's step waits for a file, so "finishes now" is the test's decision.
 */
describe('process/build fencing: a build of a master declared dead (real sshd)', function () {
  this.timeout(60_000);
  const env = useSshdPerSuite();

  forEachDialect('build end fence', (h) => {
    /** A running build whose only step waits until `release()`. */
    async function stalledBuild(w: BuildWorld) {
      const go = join(w.workerBasedir, `go-${Math.random().toString(36).slice(2, 8)}`);
      const config = w.config([new ShellCommand({ command: ['sh', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done`], logEnviron: false })]);
      const build = await w.start(config);
      const brid = (await getBuild(w.db, build.buildid))!.buildrequestid;
      await waitUntil(async () => (await getSteps(w.db, build.buildid)).some((s) => s.name === 'shell' && s.complete_at === null), 30_000, 'the step to run');
      return { build, brid, release: () => writeFile(go, '') };
    }

    const finishedEvents = (w: BuildWorld, buildid: number) =>
      w.events.filter((e) => e.key.join('.') === `builds.${buildid}.finished`).map((e) => e.message);
    const completeEvents = (w: BuildWorld, brid: number) =>
      w.events.filter((e) => e.key[0] === 'buildrequests' && e.key[1] === String(brid) && e.key[2] === 'complete');

    it('a build that finishes after the expirer ended it RETRY keeps that RETRY and completes nothing', async () => {
      const w = await makeWorld(h, env.sshd, env.ssh);
      const { build, brid, release } = await stalledBuild(w);
      const now = Math.floor(Date.now() / 1000);
      await markMasterActive(w.db, w.masterid, now - 120); // silent for two minutes: dead
      const other = await findOrCreateMaster(w.db, 'host:/other');
      await markMasterActive(w.db, other, now);
      const expiry = new MasterExpiry({ db: w.db, bus: new MessageBus(), logger: silentLogger(), masterid: other, deadMasterTimeout: 60 });
      expect(await expiry.run()).to.deep.equal([w.masterid]);
      const expired = (await getBuild(w.db, build.buildid))!;
      expect(expired).to.include({ results: RETRY });
      expect(expired.state_string).to.match(/^interrupted: master .* stopped responding$/);

      // The other master takes the request and builds it successfully.
      expect((await claimRequests(w.db, [brid], other, now)).claimed).to.deep.equal([brid]);
      expect(await completeRequests(w.db, [brid], SUCCESS, now + 1, other)).to.deep.equal([brid]);

      await release(); // the stalled build's step now ends SUCCESS
      const { results } = await build.finished;
      expect(results).to.equal(RETRY);
      expect(await getBuild(w.db, build.buildid), 'the stored end is the expirer\'s').to.deep.include({
        results: RETRY,
        state_string: expired.state_string,
        complete_at: expired.complete_at,
      });
      expect(await getRequest(w.db, brid)).to.include({ complete: 1, results: SUCCESS, claimed_by_masterid: other, complete_at: now + 1 });
      const finished = finishedEvents(w, build.buildid);
      expect(finished.map((m) => m.results), 'one finished event, with the stored end').to.deep.equal([RETRY]);
      expect(finished[0]).to.include({ state_string: expired.state_string, complete: true });
      expect(completeEvents(w, brid), 'no request completed by the lost build').to.deep.equal([]);
    });

    it('a build that wins its end but finds its claim released stores RETRY instead, and leaves the request to the new claimer', async () => {
      const w = await makeWorld(h, env.sshd, env.ssh);
      const { build, brid, release } = await stalledBuild(w);
      // Its claim released (a master housekeeping this one) before the build's end is written.
      expect(await releaseMasterClaims(w.db, w.masterid)).to.deep.equal([brid]);
      const other = await findOrCreateMaster(w.db, 'host:/other');
      expect((await claimRequests(w.db, [brid], other, Math.floor(Date.now() / 1000))).claimed).to.deep.equal([brid]);

      await release();
      const { results } = await build.finished;
      expect(results).to.equal(RETRY);
      const row = (await getBuild(w.db, build.buildid))!;
      expect(row).to.include({ results: RETRY, state_string: 'interrupted: this master lost its claim on the request' });
      expect(row.complete_at).to.not.equal(null);
      expect(await getRequest(w.db, brid)).to.include({ complete: 0, claimed_by_masterid: other });
      expect(finishedEvents(w, build.buildid).map((m) => m.results)).to.deep.equal([RETRY]);
      expect(completeEvents(w, brid)).to.deep.equal([]);
    });

    it('a build that keeps its claim ends and completes its request as before', async () => {
      const w = await makeWorld(h, env.sshd, env.ssh);
      const { build, brid, release } = await stalledBuild(w);
      await release();
      expect((await build.finished).results).to.equal(SUCCESS);
      expect(await getBuild(w.db, build.buildid)).to.include({ results: SUCCESS, state_string: 'build successful' });
      expect(await getRequest(w.db, brid)).to.include({ complete: 1, results: SUCCESS, claimed_by_masterid: w.masterid });
      expect(finishedEvents(w, build.buildid).map((m) => m.results)).to.deep.equal([SUCCESS]);
      expect(completeEvents(w, brid)).to.have.length(1);
    });
  });
});
