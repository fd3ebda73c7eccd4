import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface ChangesourceRow {
  id: number;
  name: string;
  name_hash: string;
}

/** The master running a change source: inserting this row (PK = changesourceid) is the claim. */
export interface ChangesourceMasterRow {
  changesourceid: number;
  masterid: number;
}

export function defineChangesources(s: Sequelize) {
  return {
    changesources: defineTable<ChangesourceRow, 'id'>(s, 'changesources', {
      id: col.id(),
      name: col.text(),
      name_hash: col.varchar(40),
    }),
    changesource_masters: defineTable<ChangesourceMasterRow>(s, 'changesource_masters', {
      changesourceid: col.key(),
      masterid: col.int(),
    }),
  };
}
