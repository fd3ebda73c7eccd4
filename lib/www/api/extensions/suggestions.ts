/**
 * Our extension, for the failures page: the known issues a signature probably belongs to
 * (lib/history/suggestions.ts), best first, at `/api/v2/signatures/{id}/suggestions`:
 * `{known_issueid, title, url, score, via, similar_signatureid}` (`via` is 'rule' or 'similar').
 */
import { getSignature } from '../../../history/failures.js';
import { suggestionsFor } from '../../../history/suggestions.js';
import { F } from '../fields.js';
import type { ApiModule } from '../types.js';

const SUGGESTION = {
  name: 'suggestion',
  plural: 'suggestions',
  fields: { known_issueid: F.int(), title: F.str(), url: F.str(true), score: F.obj(), via: F.str(), similar_signatureid: F.int(true) },
};

export const suggestionsModule: ApiModule = {
  endpoints: [
    {
      type: SUGGESTION,
      kind: 'collection',
      paths: '/signatures/n:signatureid/suggestions',
      get: async (r) => {
        const signatureid = r.args.signatureid as number;
        if (!(await getSignature(r.db, signatureid))) return undefined;
        const got = await suggestionsFor(r.db, { signatureid });
        return {
          items: got.map((s) => ({
            known_issueid: s.knownIssueId,
            title: s.title,
            url: s.url,
            score: s.score,
            via: s.via.kind,
            similar_signatureid: s.via.kind === 'similar' ? s.via.signatureid : null,
          })),
        };
      },
    },
  ],
};
