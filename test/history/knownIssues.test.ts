import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { getSignature, listSignatures } from '../../lib/history/failures.js';
import {
  addKnownIssue,
  decodePattern,
  deleteKnownIssue,
  encodePattern,
  listKnownIssues,
  syncConfiguredKnownIssues,
  updateKnownIssue,
} from '../../lib/history/knownIssues.js';
import { normalizeErrorLine, signatureHash } from '../../lib/history/normalize.js';
import { recordStepFailures } from '../../lib/history/signatures.js';
import { forEachDialect } from '../support/databases.js';
import { buildOf, seedHistory, type HistorySeed } from './failureSeed.js';

/** The message a promise rejects with ('' when it resolves). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('history known-issue patterns', () => {
  it('stores a RegExp with its flags and a string as a flagless source', () => {
    expect(encodePattern(/Out of Memory/i)).to.equal('/Out of Memory/i');
    expect(encodePattern(/a\/b/g)).to.equal('/a\\/b/');
    expect(encodePattern('x+y')).to.equal('/x+y/');
    expect(decodePattern('/a\\/b/i').test('A/B')).to.equal(true);
    expect(() => encodePattern('(')).to.throw(/invalid pattern "\("/);
  });
});

forEachDialect('history known issues', (h) => {
  let db: Database;
  let s: HistorySeed;
  beforeEach(async () => {
    db = await h.open();
    s = await seedHistory(db);
  });

  async function fail(at: number, text: string, builderid = s.builderid): Promise<void> {
    const { buildid, stepid } = await buildOf(db, s, { workerid: s.workers[0]!, startedAt: at, builderid });
    await recordStepFailures(db, { buildid, stepid, logid: null, builderid, workerid: s.workers[0]!, branch: 'main', revision: null, at }, [{ line: 1, text }]);
  }

  it('labels by pattern, by signature, and only on the listed builders', async () => {
    const other = (await seedHistory(db, 'windows')).builderid;
    await syncConfiguredKnownIssues(db, [
      { title: 'OOM', url: 'https://bugs/1', pattern: /out of memory/i, builders: ['linux'] },
      { title: 'disk full', signature: 'write failed: No space left on device (errno 28)' },
    ]);
    await fail(1000, 'FATAL: Out of memory allocating 4096 bytes');
    await fail(1001, 'FATAL: Out of memory allocating 8 bytes', other);
    await fail(1002, 'write failed: No space left on device (errno 28)');
    const { signatures } = await listSignatures(db, { order: 'firstSeen' });
    const issues = await listKnownIssues(db);
    expect(issues.map((i) => [i.title, i.source, i.builders])).to.deep.equal([['OOM', 'config', ['linux']], ['disk full', 'config', null]]);
    expect(issues[1]!.signatureHash).to.equal(signatureHash(normalizeErrorLine('write failed: No space left on device (errno 28)')));
    // One signature for both OOM lines: labelled by the linux occurrence.
    expect(signatures.map((x) => [x.signature, x.occurrences, x.knownIssueId])).to.deep.equal([
      ['write failed: No space left on device (errno N)', 1, issues[1]!.id],
      ['FATAL: Out of memory allocating N bytes', 2, issues[0]!.id],
    ]);
  });

  it('a rule added later (config or API) labels the failures already recorded, unless labelled', async () => {
    await fail(1000, 'ld: cannot find -lssl');
    await fail(1001, 'fatal: unable to access repo: Could not resolve host');
    await syncConfiguredKnownIssues(db, [{ title: 'no libssl', pattern: 'cannot find -lssl' }]);
    const api = await addKnownIssue(db, { title: 'dns', pattern: 'Could not resolve host' });
    const again = await addKnownIssue(db, { title: 'also ssl', pattern: 'lssl' });
    const [cfg] = await listKnownIssues(db);
    const { signatures } = await listSignatures(db, { order: 'firstSeen' });
    expect(signatures.map((x) => [x.knownIssueId, x.classifiedBy])).to.deep.equal([[api.id, 'rule'], [cfg!.id, 'rule']]);
    expect(again.id).to.not.equal(cfg!.id);
  });

  it('a reconfig keeps ids of rules whose title stays, updates them, adds new ones, deactivates removed ones', async () => {
    await syncConfiguredKnownIssues(db, [{ title: 'A', pattern: 'a' }, { title: 'B', pattern: 'b' }]);
    const [a, b] = await listKnownIssues(db);
    await syncConfiguredKnownIssues(db, [{ title: 'A', pattern: 'aa', url: 'https://x' }, { title: 'C', pattern: 'c' }]);
    const active = await listKnownIssues(db);
    expect(active.map((i) => [i.id === a!.id, i.title, i.pattern, i.url])).to.deep.equal([[true, 'A', '/aa/', 'https://x'], [false, 'C', '/c/', null]]);
    const all = await listKnownIssues(db, { includeInactive: true });
    expect(all.find((i) => i.id === b!.id)!.active).to.equal(false);
    await syncConfiguredKnownIssues(db, [{ title: 'B', pattern: 'b' }]);
    expect((await listKnownIssues(db)).map((i) => [i.id === b!.id, i.title])).to.deep.equal([[true, 'B']]);
  });

  it('API rules: validated, updated, deleted (their labels taken off); config rules refuse API changes', async () => {
    expect(await failure(addKnownIssue(db, { title: ' ' }))).to.match(/a title is required/);
    expect(await failure(addKnownIssue(db, { title: 'x' }))).to.match(/needs a pattern or a signature/);
    expect(await failure(addKnownIssue(db, { title: 'x', pattern: '[' }))).to.match(/invalid pattern/);
    const issue = await addKnownIssue(db, { title: 'segv', pattern: 'Segmentation fault' }, 'ann', 5000);
    expect(issue).to.deep.include({ title: 'segv', source: 'api', createdBy: 'ann', createdAt: 5000, active: true, builders: null });
    await fail(1000, 'Segmentation fault (core dumped)');
    const [sig] = (await listSignatures(db)).signatures;
    expect(sig!.knownIssueId).to.equal(issue.id);
    expect(await updateKnownIssue(db, issue.id, { title: 'SIGSEGV', builders: ['linux'] })).to.deep.include({ title: 'SIGSEGV', pattern: '/Segmentation fault/', builders: ['linux'] });
    expect(await updateKnownIssue(db, 999, { title: 'x' })).to.equal(undefined);
    expect(await deleteKnownIssue(db, issue.id)).to.equal(true);
    expect(await deleteKnownIssue(db, issue.id)).to.equal(false);
    expect((await getSignature(db, sig!.id))!).to.include({ knownIssueId: null, classifiedBy: null });
    await syncConfiguredKnownIssues(db, [{ title: 'cfg', pattern: 'x' }]);
    const [cfg] = await listKnownIssues(db);
    expect(await failure(updateKnownIssue(db, cfg!.id, { title: 'y' }))).to.match(/comes from the config/);
    expect(await failure(deleteKnownIssue(db, cfg!.id))).to.match(/comes from the config/);
  });
});
