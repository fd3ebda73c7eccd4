import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface BuildRow {
  id: number;
  /** Per builder, starting at 1. */
  number: number;
  builderid: number;
  buildrequestid: number;
  workerid: number | null;
  masterid: number;
  started_at: number;
  complete_at: number | null;
  state_string: string;
  results: number | null;
}

export interface BuildPropertyRow {
  buildid: number;
  name: string;
  /** JSON of the value alone (the source has its own column). */
  value: string;
  source: string;
}

export interface BuildDataRow {
  id: number;
  buildid: number;
  name: string;
  value: Buffer;
  length: number;
  source: string;
}

export function defineBuilds(s: Sequelize) {
  return {
    builds: defineTable<BuildRow, 'id' | 'workerid' | 'complete_at' | 'results'>(s, 'builds', {
      id: col.id(),
      number: col.int(),
      builderid: col.int(),
      buildrequestid: col.int(),
      workerid: col.int({ null: true }),
      masterid: col.int(),
      started_at: col.int(),
      complete_at: col.int({ null: true }),
      state_string: col.text(),
      results: col.int({ null: true }),
    }),
    build_properties: defineTable<BuildPropertyRow>(s, 'build_properties', {
      buildid: col.int(),
      name: col.varchar(256),
      value: col.text(),
      source: col.varchar(256),
    }, { withoutPrimaryKey: true }),
    build_data: defineTable<BuildDataRow, 'id'>(s, 'build_data', {
      id: col.id(),
      buildid: col.int(),
      name: col.varchar(256),
      value: col.blob(),
      length: col.int(),
      source: col.varchar(256),
    }),
  };
}
