import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface BuildsetRow {
  id: number;
  external_idstring: string | null;
  reason: string | null;
  submitted_at: number;
  complete: number;
  complete_at: number | null;
  /** -1 while pending (Buildbot writes -1, not NULL). */
  results: number | null;
  parent_buildid: number | null;
  parent_relationship: string | null;
}

export interface BuildsetPropertyRow {
  buildsetid: number;
  property_name: string;
  /** JSON `[value, source]`. */
  property_value: string;
}

export interface BuildsetSourcestampRow {
  id: number;
  buildsetid: number;
  sourcestampid: number;
}

type BuildsetOptional = 'id' | 'external_idstring' | 'reason' | 'complete' | 'complete_at' | 'results'
  | 'parent_buildid' | 'parent_relationship';

export function defineBuildsets(s: Sequelize) {
  return {
    buildsets: defineTable<BuildsetRow, BuildsetOptional>(s, 'buildsets', {
      id: col.id(),
      external_idstring: col.varchar(256, { null: true }),
      reason: col.varchar(256, { null: true }),
      submitted_at: col.int(),
      complete: col.smallint({ default: 0 }),
      complete_at: col.int({ null: true }),
      results: col.smallint({ null: true }),
      parent_buildid: col.int({ null: true }),
      parent_relationship: col.text({ null: true }),
    }),
    buildset_properties: defineTable<BuildsetPropertyRow>(s, 'buildset_properties', {
      buildsetid: col.int(),
      property_name: col.varchar(256),
      property_value: col.text(),
    }, { withoutPrimaryKey: true }),
    buildset_sourcestamps: defineTable<BuildsetSourcestampRow, 'id'>(s, 'buildset_sourcestamps', {
      id: col.id(),
      buildsetid: col.int(),
      sourcestampid: col.int(),
    }),
  };
}
