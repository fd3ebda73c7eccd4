import type { Sequelize } from 'sequelize';
import { col, defineTable, identity } from './columns.js';

/** Something with persistent state, identified by (name, class_name). */
export interface ObjectRow {
  id: number;
  name: string;
  class_name: string;
}

export interface ObjectStateRow {
  objectid: number;
  name: string;
  value_json: string;
}

export function defineState(s: Sequelize) {
  return {
    objects: defineTable<ObjectRow, 'id'>(s, 'objects', {
      id: col.id(),
      name: col.varchar(128),
      class_name: col.varchar(128),
    }),
    object_state: defineTable<ObjectStateRow>(s, 'object_state', {
      objectid: identity(col.int()),
      name: identity(col.varchar(255)),
      value_json: col.text(),
    }),
  };
}
