/**
 * Our extension: known issues (lib/history/knownIssues.ts), the rules that label failure
 * signatures: /known_issues (active ones; `all=1` with inactive) and /known_issues/{id}. Adding,
 * changing and deleting them: knownIssuesControl.ts (JSON-RPC POSTs).
 */
import { getKnownIssue, listKnownIssues, type KnownIssue } from '../../../../history/knownIssues.js';
import type { Item } from '../../applySpec.js';
import { F } from '../../fields.js';
import type { ApiModule } from '../../types.js';
import { strParam } from './params.js';

const KNOWN_ISSUE = {
  name: 'known_issue',
  plural: 'known_issues',
  fields: {
    known_issueid: F.int(),
    title: F.str(),
    url: F.str(true),
    pattern: F.str(true),
    signature_hash: F.str(true),
    builders: F.list('string'),
    source: F.str(),
    active: F.bool(),
    created_at: F.date(),
    created_by: F.str(true),
  },
};

/** A known issue as the API shows it (also the result of the known-issue controls, knownIssuesControl.ts). */
export function knownIssueItem(k: KnownIssue): Item {
  return {
    known_issueid: k.id,
    title: k.title,
    url: k.url,
    pattern: k.pattern,
    signature_hash: k.signatureHash,
    builders: k.builders,
    source: k.source,
    active: k.active,
    created_at: k.createdAt,
    created_by: k.createdBy,
  };
}

export const knownIssuesModule: ApiModule = {
  endpoints: [
    {
      type: KNOWN_ISSUE,
      kind: 'collection',
      paths: '/known_issues',
      params: ['all'],
      get: async (r) => {
        const all = ['1', 'true', 'yes', 'on'].includes((strParam(r.extra, 'all') ?? '').toLowerCase());
        return { items: (await listKnownIssues(r.db, { includeInactive: all })).map(knownIssueItem) };
      },
    },
    {
      type: KNOWN_ISSUE,
      kind: 'item',
      paths: '/known_issues/n:known_issueid',
      get: async (r) => {
        const k = await getKnownIssue(r.db, r.args.known_issueid as number);
        return k && knownIssueItem(k);
      },
    },
  ],
};
