import type { Sequelize } from 'sequelize';
import { col, defineTable, identity } from './columns.js';

export interface SchedulerRow {
  id: number;
  name: string;
  name_hash: string;
  enabled: number | null;
}

/** The master running a scheduler: inserting this row (PK = schedulerid) is the claim. */
export interface SchedulerMasterRow {
  schedulerid: number;
  masterid: number;
}

/** A change a scheduler has classified but not yet acted on. */
export interface SchedulerChangeRow {
  schedulerid: number;
  changeid: number;
  important: number | null;
}

export function defineSchedulers(s: Sequelize) {
  return {
    schedulers: defineTable<SchedulerRow, 'id' | 'enabled'>(s, 'schedulers', {
      id: col.id(),
      name: col.text(),
      name_hash: col.varchar(40),
      enabled: col.smallint({ null: true, default: 1 }),
    }),
    scheduler_masters: defineTable<SchedulerMasterRow>(s, 'scheduler_masters', {
      schedulerid: col.key(),
      masterid: col.int(),
    }),
    scheduler_changes: defineTable<SchedulerChangeRow, 'important'>(s, 'scheduler_changes', {
      schedulerid: identity(col.int()),
      changeid: identity(col.int()),
      important: col.int({ null: true }),
    }),
  };
}
