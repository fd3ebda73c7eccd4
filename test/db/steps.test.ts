import { expect } from 'chai';
import { addStep, addStepUrl, finishStep, getStep, getSteps, setStepStateString, startStep, uniqueStepName } from '../../lib/db/steps.js';
import { SUCCESS, WARNINGS } from '../../lib/process/results.js';
import { forEachDialect } from '../support/databases.js';
import { seed, seedBuild } from './dataSeed.js';

describe('uniqueStepName', () => {
  it('adds _1, _2… as Buildbot does, cutting the name to stay within 50 characters', () => {
    expect(uniqueStepName('compile', new Set())).to.equal('compile');
    expect(uniqueStepName('compile', new Set(['compile']))).to.equal('compile_1');
    expect(uniqueStepName('compile', new Set(['compile', 'compile_1']))).to.equal('compile_2');
    const long = 'x'.repeat(60);
    expect(uniqueStepName(long, new Set())).to.equal('x'.repeat(50));
    expect(uniqueStepName(long, new Set(['x'.repeat(50)]))).to.equal(`${'x'.repeat(48)}_1`);
  });
});

forEachDialect('db/steps', (h) => {
  it('adds steps numbered from 0, pending, with duplicate names made unique', async () => {
    const db = await h.open();
    const s = await seed(db);
    const buildid = await seedBuild(db, s);
    const other = await seedBuild(db, s);
    expect(await addStep(db, buildid, 'worker_preparation')).to.deep.include({ number: 0, name: 'worker_preparation' });
    expect(await addStep(db, buildid, 'shell')).to.deep.include({ number: 1, name: 'shell' });
    expect(await addStep(db, buildid, 'shell')).to.deep.include({ number: 2, name: 'shell_1' });
    expect(await addStep(db, buildid, 'shell')).to.deep.include({ number: 3, name: 'shell_2' });
    expect(await addStep(db, other, 'shell')).to.deep.include({ number: 0, name: 'shell' });
    const { stepid } = await addStep(db, buildid, 'ü'.repeat(70));
    expect(await getStep(db, stepid)).to.deep.equal({
      id: stepid, number: 4, name: 'ü'.repeat(50), buildid, started_at: null, complete_at: null,
      state_string: 'pending', results: null, urls_json: '[]', hidden: 0,
    });
    expect((await getSteps(db, buildid)).map((x) => x.name)).to.deep.equal(['worker_preparation', 'shell', 'shell_1', 'shell_2', 'ü'.repeat(50)]);
  });

  it('starts, updates and finishes a step (hidden or not)', async () => {
    const db = await h.open();
    const s = await seed(db);
    const buildid = await seedBuild(db, s);
    const a = await addStep(db, buildid, 'a');
    const b = await addStep(db, buildid, 'b');
    await startStep(db, a.stepid, 100);
    await setStepStateString(db, a.stepid, 'running');
    await finishStep(db, a.stepid, WARNINGS, 110, false);
    await finishStep(db, b.stepid, SUCCESS, 120, true);
    expect(await getStep(db, a.stepid)).to.include({ started_at: 100, complete_at: 110, results: WARNINGS, state_string: 'running', hidden: 0 });
    expect(await getStep(db, b.stepid)).to.include({ started_at: null, complete_at: 120, results: SUCCESS, hidden: 1 });
  });

  it('adds URLs once each, even when added concurrently', async () => {
    const db = await h.open();
    const s = await seed(db);
    const buildid = await seedBuild(db, s);
    const { stepid } = await addStep(db, buildid, 'a');
    await Promise.all([
      addStepUrl(db, stepid, 'report', 'http://x/1'),
      addStepUrl(db, stepid, 'coverage', 'http://x/2'),
      addStepUrl(db, stepid, 'report', 'http://x/1'),
      addStepUrl(db, stepid, 'report', 'http://x/3'),
    ]);
    const urls = JSON.parse((await getStep(db, stepid))!.urls_json) as { name: string; url: string }[];
    expect(urls.map((u) => `${u.name} ${u.url}`).sort()).to.deep.equal(['coverage http://x/2', 'report http://x/1', 'report http://x/3']);
  });
});
