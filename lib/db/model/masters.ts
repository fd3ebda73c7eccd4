import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

/** A master process: `name` is `hostname:basedir`, `name_hash` its sha1 (the unique key). */
export interface MasterRow {
  id: number;
  name: string;
  name_hash: string;
  active: number;
  last_active: number;
}

export function defineMasters(s: Sequelize) {
  return {
    masters: defineTable<MasterRow, 'id'>(s, 'masters', {
      id: col.id(),
      name: col.text(),
      name_hash: col.varchar(40),
      active: col.int(),
      last_active: col.int(),
    }),
  };
}
