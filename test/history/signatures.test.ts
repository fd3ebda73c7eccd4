import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { select } from '../../lib/db/query.js';
import { failureCounts, getSignature, listSignatures, occurrencesOfBuild, signatureOccurrences, signaturesNewInPush } from '../../lib/history/failures.js';
import { addKnownIssue, applyKnownIssue } from '../../lib/history/knownIssues.js';
import { recordStepFailures, type FailureContext } from '../../lib/history/signatures.js';
import { classificationsOf, classify, suggestionsFor } from '../../lib/history/suggestions.js';
import { forEachDialect } from '../support/databases.js';
import { buildOf, pushRevisions, seedHistory, type HistorySeed } from './failureSeed.js';

const DAY = 86_400;
const T0 = 20_000 * DAY; // a day boundary

/** The same failure as three workers' checkouts would print it. */
const lineOn = (worker: string, n: number) => `/home/${worker}/build-${n}/src/net/socket.c:${100 + n}:7: error: undefined reference to \`net_init' (pid ${4000 + n})`;

forEachDialect('history signatures', (h) => {
  let db: Database;
  let s: HistorySeed;
  beforeEach(async () => {
    db = await h.open();
    s = await seedHistory(db);
  });

  async function failingBuild(sourcestamp: number, workerid: number, at: number, text: string, branch = 'main', revision: string | null = null): Promise<FailureContext> {
    const { buildid, stepid } = await buildOf(db, s, { sourcestamp, workerid, startedAt: at });
    const ctx: FailureContext = { buildid, stepid, logid: null, builderid: s.builderid, workerid, branch, revision, at };
    await recordStepFailures(db, ctx, [{ line: 12, text }]);
    return ctx;
  }

  it('3 builds on 2 workers with the same error: one signature, counted per worker, first seen at the right revision; a rule labels it; a similar line gets it suggested', async () => {
    const [w1, w2] = s.workers as [number, number];
    const { pushid, sourcestamps } = await pushRevisions(db, ['r1', 'r2', 'r3']);
    const b1 = await failingBuild(sourcestamps[0]!, w1, T0 + 10, lineOn('w1', 1), 'main', 'r1');
    const b2 = await failingBuild(sourcestamps[1]!, w2, T0 + 20, lineOn('w2', 2), 'main', 'r2');
    const b3 = await failingBuild(sourcestamps[2]!, w1, T0 + DAY + 5, lineOn('w1', 3), 'main', 'r3');

    const { signatures, total } = await listSignatures(db);
    expect(total).to.equal(1);
    const sig = signatures[0]!;
    expect(sig.signature).to.equal("socket.c:N:N: error: undefined reference to `net_init' (pid N)");
    expect(sig.occurrences).to.equal(3);
    expect(sig.firstSeen).to.deep.equal({ at: T0 + 10, buildid: b1.buildid, revision: 'r1' });
    expect(sig.lastSeen).to.deep.equal({ at: T0 + DAY + 5, buildid: b3.buildid });
    expect(await failureCounts(db, { signatureid: sig.id, by: 'worker' })).to.deep.equal([{ key: w1, count: 2 }, { key: w2, count: 1 }]);
    expect(await failureCounts(db, { signatureid: sig.id, by: 'day' })).to.deep.equal([{ key: T0, count: 2 }, { key: T0 + DAY, count: 1 }]);
    expect(await failureCounts(db, { by: 'builder' })).to.deep.equal([{ key: s.builderid, count: 3 }]);
    expect(await failureCounts(db, { by: 'branch' })).to.deep.equal([{ key: 'main', count: 3 }]);
    expect((await listSignatures(db, { workerid: w2 })).signatures.map((x) => [x.id, x.count])).to.deep.equal([[sig.id, 1]]);
    expect((await listSignatures(db, { since: T0 + DAY })).signatures.map((x) => x.count)).to.deep.equal([1]);
    expect((await signatureOccurrences(db, sig.id)).map((o) => [o.buildid, o.workerid, o.revision])).to.deep.equal([
      [b3.buildid, w1, 'r3'], [b2.buildid, w2, 'r2'], [b1.buildid, w1, 'r1'],
    ]);
    expect((await signaturesNewInPush(db, pushid))!.map((x) => x.id)).to.deep.equal([sig.id]);

    // A known-issue rule labels the failures it matches: the recorded ones when added, later ones as they come.
    const issue = await addKnownIssue(db, { title: 'net_init missing on link', url: 'https://bugs.example.com/123', pattern: /undefined reference to `net_init'/ }, 'ann');
    expect(await applyKnownIssue(db, issue.id)).to.equal(0);
    expect((await getSignature(db, sig.id))!).to.include({ knownIssueId: issue.id, classifiedBy: 'rule' });
    const { sourcestamps: later } = await pushRevisions(db, ['r4']);
    const b4 = await failingBuild(later[0]!, w2, T0 + DAY + 50, lineOn('w2', 4), 'main', 'r4');
    expect((await occurrencesOfBuild(db, b4.buildid)).map((o) => [o.signatureid, o.knownIssueId])).to.deep.equal([[sig.id, issue.id]]);

    // A similar new line (another symbol) is not matched by the rule, but gets its label suggested.
    const similar = '/home/w9/src/net/socket.c:88:7: error: undefined reference to `net_exit\' (pid 77)';
    const suggested = await suggestionsFor(db, { text: similar });
    expect(suggested.map((x) => [x.knownIssueId, x.title, x.via.kind])).to.deep.equal([[issue.id, 'net_init missing on link', 'similar']]);
    expect(suggested[0]!.score).to.be.within(0.6, 1);
    expect(await suggestionsFor(db, { text: 'error: disk quota exceeded while writing results.xml' })).to.deep.equal([]);
  });

  it('a rule matching a line directly is suggested first with score 1, and honours its builder list', async () => {
    const issue = await addKnownIssue(db, { title: 'flaky DNS', pattern: 'Temporary failure in name resolution', builders: ['linux'] });
    expect((await suggestionsFor(db, { text: 'curl: (6) Temporary failure in name resolution', builderName: 'linux' }))[0]).to.include({ knownIssueId: issue.id, score: 1 });
    expect(await suggestionsFor(db, { text: 'curl: (6) Temporary failure in name resolution', builderName: 'windows' })).to.deep.equal([]);
  });

  it('a label a person gives teaches later suggestions, and is inherited by later occurrences', async () => {
    const [w1, w2] = s.workers as [number, number];
    const { sourcestamps } = await pushRevisions(db, ['a1', 'a2', 'a3']);
    await failingBuild(sourcestamps[0]!, w1, T0, 'AssertionError: expected status OK but got Service Unavailable after 1532 ms');
    const [sig] = (await listSignatures(db)).signatures;
    const issue = await addKnownIssue(db, { title: 'API overloaded in tests', signature: 'some other line entirely' });
    expect(await suggestionsFor(db, { signatureid: sig!.id })).to.deep.equal([]);

    await classify(db, { signatureid: sig!.id }, issue.id, 'bob', T0 + 100);
    expect((await getSignature(db, sig!.id))!).to.include({ knownIssueId: issue.id, classifiedBy: 'bob' });
    expect(await classificationsOf(db, sig!.id)).to.deep.equal([{ signatureid: sig!.id, occurrenceid: null, knownIssueId: issue.id, by: 'bob', at: T0 + 100 }]);

    // The same signature again: labelled on arrival.
    const again = await failingBuild(sourcestamps[1]!, w2, T0 + 200, 'AssertionError: expected status OK but got Service Unavailable after 88 ms');
    expect((await occurrencesOfBuild(db, again.buildid))[0]).to.include({ knownIssueId: issue.id, classifiedBy: 'signature' });
    // A similar one (another reason): its own signature, unlabelled, with the person's label suggested.
    const other = await failingBuild(sourcestamps[2]!, w2, T0 + 300, 'AssertionError: expected status OK but got Service Timeout after 12 ms');
    const otherSig = (await occurrencesOfBuild(db, other.buildid))[0]!.signatureid;
    expect((await getSignature(db, otherSig))!.knownIssueId).to.equal(null);
    const suggested = await suggestionsFor(db, { signatureid: otherSig });
    expect(suggested.map((x) => [x.knownIssueId, x.via.kind === 'similar' ? x.via.classifiedBy : 'rule'])).to.deep.equal([[issue.id, 'bob']]);
    expect((await listSignatures(db, { knownIssueId: null })).signatures.map((x) => x.id)).to.deep.equal([otherSig]);
    await classify(db, { signatureid: sig!.id }, null, 'bob');
    expect((await getSignature(db, sig!.id))!.knownIssueId).to.equal(null);
  });

  it('is idempotent per step: a retried or concurrent call counts nothing twice', async () => {
    const { sourcestamps } = await pushRevisions(db, ['x1']);
    const { buildid, stepid } = await buildOf(db, s, { sourcestamp: sourcestamps[0]!, workerid: s.workers[0]!, startedAt: T0 });
    const ctx: FailureContext = { buildid, stepid, logid: null, builderid: s.builderid, workerid: s.workers[0]!, branch: 'main', revision: 'x1', at: T0 };
    const errors = [{ line: 3, text: 'error: a 1', test: 'test_a' }, { line: 9, text: 'error: a 2', test: 'test_b' }, { line: 20, text: 'fatal: b' }];
    const other = await h.connect();
    await Promise.all([recordStepFailures(db, ctx, errors), recordStepFailures(other, ctx, errors)]);
    await recordStepFailures(db, ctx, errors);
    const { signatures } = await listSignatures(db);
    expect(signatures.map((x) => [x.signature, x.occurrences])).to.deep.equal([['error: a N', 2], ['fatal: b', 1]]);
    expect(await failureCounts(db, { by: 'test' })).to.deep.equal([{ key: null, count: 1 }, { key: 'test_a', count: 1 }, { key: 'test_b', count: 1 }]);
    expect(await select(db, 'SELECT COUNT(*) AS n FROM failure_occurrences')).to.deep.equal([{ n: 3 }]);
  });

  it('many steps recording the same signature at once, from two connections: every occurrence counted once', async () => {
    const other = await h.connect();
    const ctxs: FailureContext[] = [];
    for (let i = 0; i < 8; i++) {
      const { buildid, stepid } = await buildOf(db, s, { workerid: s.workers[i % 2]!, startedAt: T0 + i });
      ctxs.push({ buildid, stepid, logid: null, builderid: s.builderid, workerid: s.workers[i % 2]!, branch: null, revision: `rev${i}`, at: T0 + i });
    }
    // Recorded out of order: first seen is still the earliest.
    await Promise.all(ctxs.reverse().map((c, i) => recordStepFailures(i % 2 ? db : other, c, [{ line: 1, text: `Killed process ${i}` }, { line: 2, text: 'Segmentation fault' }])));
    const { signatures } = await listSignatures(db, { order: 'firstSeen' });
    expect(signatures.map((x) => x.occurrences)).to.deep.equal([8, 8]);
    expect(signatures.every((x) => x.firstSeen.revision === 'rev0' && x.lastSeen.at === T0 + 7)).to.equal(true);
    expect(await failureCounts(db, { by: 'worker' })).to.deep.equal([{ key: s.workers[0], count: 8 }, { key: s.workers[1], count: 8 }]);
    expect(await failureCounts(db, { by: 'branch' })).to.deep.equal([{ key: null, count: 16 }]);
  });

  it('"new in this push": only signatures whose first occurrence is in a build of the push', async () => {
    const w = s.workers[0]!;
    const p1 = await pushRevisions(db, ['p1a']);
    await failingBuild(p1.sourcestamps[0]!, w, T0, 'error: old failure 1');
    const p2 = await pushRevisions(db, ['p2a', 'p2b']);
    const b = await buildOf(db, s, { sourcestamp: p2.sourcestamps[1]!, workerid: w, startedAt: T0 + 10 });
    await recordStepFailures(db, { ...b, logid: null, builderid: s.builderid, workerid: w, branch: 'main', revision: 'p2b', at: T0 + 10 }, [
      { line: 1, text: 'error: old failure 2' },
      { line: 2, text: 'error: brand new thing' },
    ]);
    expect((await signaturesNewInPush(db, p2.pushid))!.map((x) => x.signature)).to.deep.equal(['error: brand new thing']);
    expect((await signaturesNewInPush(db, p1.pushid))!.map((x) => x.signature)).to.deep.equal(['error: old failure N']);
    expect(await signaturesNewInPush(db, 9999)).to.equal(undefined);
  });
});
