/**
 * Our extension: failure signatures (lib/history/failures.ts) and the error lines behind them.
 *   /signatures                       most frequent first; counted over builderid, workerid,
 *                                     branch, test, since, until when given; order=-last_seen or
 *                                     -first_seen; known_issueid=N filters
 *   /signatures/{id}                  one
 *   /signatures/{id}/occurrences      its error lines, newest first
 *   /signatures/{id}/counts?by=day|builder|worker|branch|test
 *   /builds/{id}/failures             a build's error lines, each with its signature
 *   /pushes/{id}/new_signatures       signatures first seen in a push's builds
 *   /signatures/{id}/classifications  who labelled it and when, newest first
 * (/signatures/{id}/suggestions is extensions/suggestions.ts, mounted by lib/www/app.ts.)
 */
import {
  failureCounts,
  getSignature,
  listSignatures,
  occurrencesOfBuild,
  signatureOccurrences,
  signaturesNewInPush,
  type CountDimension,
  type Occurrence,
  type SignatureSummary,
} from '../../../../history/failures.js';
import { classificationsOf } from '../../../../history/suggestions.js';
import type { Item } from '../../applySpec.js';
import { F } from '../../fields.js';
import type { ApiModule, ApiRequest, ListResult } from '../../types.js';
import { branchParam, choiceParam, intParam, strParam, trendFilter, TREND_PARAMS } from './params.js';

const SIGNATURE = {
  name: 'signature',
  plural: 'signatures',
  fields: {
    signatureid: F.int(),
    hash: F.str(),
    signature: F.str(),
    example: F.str(),
    first_seen: F.date(),
    first_buildid: F.int(),
    first_revision: F.str(true),
    last_seen: F.date(),
    last_buildid: F.int(),
    occurrences: F.int(),
    count: F.int(),
    known_issueid: F.int(true),
    classified_by: F.str(true),
  },
};

const OCCURRENCE = {
  name: 'failure',
  plural: 'failures',
  fields: {
    failureid: F.int(),
    signatureid: F.int(),
    buildid: F.int(),
    stepid: F.int(),
    logid: F.int(true),
    line: F.int(),
    text: F.str(),
    test: F.str(true),
    builderid: F.int(),
    workerid: F.int(true),
    branch: F.str(true),
    revision: F.str(true),
    at: F.date(),
    known_issueid: F.int(true),
    classified_by: F.str(true),
  },
};

const COUNT = { name: 'count', plural: 'counts', fields: { key: F.str(true), count: F.int() } };

const CLASSIFICATION = {
  name: 'classification',
  plural: 'classifications',
  fields: { signatureid: F.int(), failureid: F.int(true), known_issueid: F.int(true), classified_by: F.str(), classified_at: F.date() },
};

export function signatureItem(s: SignatureSummary): Item {
  return {
    signatureid: s.id,
    hash: s.hash,
    signature: s.signature,
    example: s.example,
    first_seen: s.firstSeen.at,
    first_buildid: s.firstSeen.buildid,
    first_revision: s.firstSeen.revision,
    last_seen: s.lastSeen.at,
    last_buildid: s.lastSeen.buildid,
    occurrences: s.occurrences,
    count: s.count,
    known_issueid: s.knownIssueId,
    classified_by: s.classifiedBy,
  };
}

function occurrenceItem(o: Occurrence): Item {
  return {
    failureid: o.id,
    signatureid: o.signatureid,
    buildid: o.buildid,
    stepid: o.stepid,
    logid: o.logid,
    line: o.line,
    text: o.text,
    test: o.test,
    builderid: o.builderid,
    workerid: o.workerid,
    branch: o.branch,
    revision: o.revision,
    at: o.at,
    known_issueid: o.knownIssueId,
    classified_by: o.classifiedBy,
  };
}

const ORDERS: Readonly<Record<string, 'count' | 'lastSeen' | 'firstSeen'>> = { '-count': 'count', '-last_seen': 'lastSeen', '-first_seen': 'firstSeen' };

async function listSigs(r: ApiRequest): Promise<ListResult> {
  const { spec, extra } = r;
  const knownIssue = spec.takeEq('known_issueid');
  const order = spec.order && spec.order.length === 1 ? ORDERS[spec.order[0]] : spec.order ? undefined : 'count';
  const test = strParam(extra, 'test');
  const filter = { ...trendFilter(extra), ...(test !== undefined ? { test } : {}), ...(knownIssue !== undefined ? { knownIssueId: Number(knownIssue) } : {}) };
  if (spec.filters.length === 0 && order) {
    // All of it in SQL: the order, the page and the total.
    spec.order = undefined;
    const { limit, offset } = spec.takePaging();
    const got = await listSignatures(r.db, { ...filter, order, limit: limit ?? 1000, offset: offset ?? 0 });
    return { items: got.signatures.map(signatureItem), total: got.total };
  }
  const got = await listSignatures(r.db, { ...filter, limit: 100_000 });
  return { items: got.signatures.map(signatureItem) };
}

export const signaturesModule: ApiModule = {
  endpoints: [
    { type: SIGNATURE, kind: 'collection', paths: '/signatures', params: [...TREND_PARAMS, 'test'], get: listSigs },
    {
      type: SIGNATURE,
      kind: 'item',
      paths: '/signatures/n:signatureid',
      get: async (r) => {
        const s = await getSignature(r.db, r.args.signatureid as number);
        return s && signatureItem(s);
      },
    },
    {
      type: OCCURRENCE,
      kind: 'collection',
      paths: '/signatures/n:signatureid/occurrences',
      params: ['before'],
      get: async (r) => {
        const { limit } = r.spec.filters.length === 0 && !r.spec.order && r.spec.offset === undefined ? r.spec.takePaging() : { limit: undefined };
        const before = intParam(r.extra, 'before');
        const got = await signatureOccurrences(r.db, r.args.signatureid as number, { limit: limit ?? 10_000, ...(before !== undefined ? { before } : {}) });
        return { items: got.map(occurrenceItem) };
      },
    },
    {
      type: COUNT,
      kind: 'collection',
      paths: '/signatures/n:signatureid/counts /signature_counts',
      params: [...TREND_PARAMS, 'test', 'by'],
      get: async (r) => {
        const by = choiceParam<CountDimension>(r.extra, 'by', ['day', 'builder', 'worker', 'branch', 'test'], 'day');
        const test = strParam(r.extra, 'test');
        const branch = branchParam(r.extra);
        const q = { ...trendFilter(r.extra), ...(branch !== undefined ? { branch } : {}), ...(test !== undefined ? { test } : {}), by };
        const sid = r.args.signatureid;
        const rows = await failureCounts(r.db, typeof sid === 'number' ? { ...q, signatureid: sid } : q);
        return { items: rows.map((x) => ({ key: x.key, count: x.count })) };
      },
    },
    {
      type: CLASSIFICATION,
      kind: 'collection',
      paths: '/signatures/n:signatureid/classifications',
      get: async (r) => ({
        items: (await classificationsOf(r.db, r.args.signatureid as number)).map((c) => ({
          signatureid: c.signatureid,
          failureid: c.occurrenceid,
          known_issueid: c.knownIssueId,
          classified_by: c.by,
          classified_at: c.at,
        })),
      }),
    },
    { type: OCCURRENCE, kind: 'collection', paths: '/builds/n:buildid/failures', get: async (r) => ({ items: (await occurrencesOfBuild(r.db, r.args.buildid as number)).map(occurrenceItem) }) },
    {
      type: SIGNATURE,
      kind: 'collection',
      paths: '/pushes/n:pushid/new_signatures',
      get: async (r) => {
        const got = await signaturesNewInPush(r.db, r.args.pushid as number);
        return got && { items: got.map(signatureItem) };
      },
    },
  ],
};
