import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface StepRow {
  id: number;
  /** Per build, starting at 0 (step 0 is `worker_preparation`). */
  number: number;
  name: string;
  buildid: number;
  started_at: number | null;
  complete_at: number | null;
  state_string: string;
  results: number | null;
  /** JSON `[{name, url}]`. */
  urls_json: string;
  hidden: number;
}

export function defineSteps(s: Sequelize) {
  return {
    steps: defineTable<StepRow, 'id' | 'started_at' | 'complete_at' | 'results' | 'hidden'>(s, 'steps', {
      id: col.id(),
      number: col.int(),
      name: col.varchar(50),
      buildid: col.int(),
      started_at: col.int({ null: true }),
      complete_at: col.int({ null: true }),
      state_string: col.text(),
      results: col.int({ null: true }),
      urls_json: col.text(),
      hidden: col.smallint({ default: 0 }),
    }),
  };
}
