import type { Sequelize } from 'sequelize';
import { col, defineTable, identity } from './columns.js';

export interface BuildrequestRow {
  id: number;
  buildsetid: number;
  builderid: number;
  /** Never used by Buildbot 3.7's distributor; always 0. */
  priority: number;
  complete: number | null;
  /** -1 while pending. */
  results: number | null;
  submitted_at: number;
  complete_at: number | null;
  waited_for: number | null;
}

/** A claim: the unique key on `brid` is the only arbiter between masters. */
export interface BuildrequestClaimRow {
  brid: number;
  masterid: number;
  claimed_at: number;
}

type BuildrequestOptional = 'id' | 'priority' | 'complete' | 'results' | 'complete_at' | 'waited_for';

export function defineBuildrequests(s: Sequelize) {
  return {
    buildrequests: defineTable<BuildrequestRow, BuildrequestOptional>(s, 'buildrequests', {
      id: col.id(),
      buildsetid: col.int(),
      builderid: col.int(),
      priority: col.int({ default: 0 }),
      complete: col.int({ null: true, default: 0 }),
      results: col.smallint({ null: true }),
      submitted_at: col.int(),
      complete_at: col.int({ null: true }),
      waited_for: col.smallint({ null: true, default: 0 }),
    }),
    buildrequest_claims: defineTable<BuildrequestClaimRow>(s, 'buildrequest_claims', {
      brid: identity(col.int()),
      masterid: col.int(),
      claimed_at: col.int(),
    }),
  };
}
