import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface BuilderRow {
  id: number;
  name: string;
  description: string | null;
  name_hash: string;
}

/** Which masters run a builder (unique per pair). */
export interface BuilderMasterRow {
  id: number;
  builderid: number;
  masterid: number;
}

export interface TagRow {
  id: number;
  name: string;
  name_hash: string;
}

export interface BuilderTagRow {
  id: number;
  builderid: number;
  tagid: number;
}

export function defineBuilders(s: Sequelize) {
  return {
    builders: defineTable<BuilderRow, 'id' | 'description'>(s, 'builders', {
      id: col.id(),
      name: col.text(),
      description: col.text({ null: true }),
      name_hash: col.varchar(40),
    }),
    builder_masters: defineTable<BuilderMasterRow, 'id'>(s, 'builder_masters', {
      id: col.id(),
      builderid: col.int(),
      masterid: col.int(),
    }),
    tags: defineTable<TagRow, 'id'>(s, 'tags', {
      id: col.id(),
      name: col.text(),
      name_hash: col.varchar(40),
    }),
    builders_tags: defineTable<BuilderTagRow, 'id'>(s, 'builders_tags', {
      id: col.id(),
      builderid: col.int(),
      tagid: col.int(),
    }),
  };
}
