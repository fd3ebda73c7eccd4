import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface LogRow {
  id: number;
  name: string;
  slug: string;
  stepid: number;
  complete: number;
  num_lines: number;
  /** 's' stdio, 't' text, 'h' html, 'd' deleted. */
  type: string;
}

export interface LogchunkRow {
  logid: number;
  /** 0-based, inclusive. */
  first_line: number;
  last_line: number;
  /** UTF-8 text, or compressed as `compressed` says (0 raw, 1 zlib, 2 bz2, 3 lz4). */
  content: Buffer | null;
  compressed: number;
}

export function defineLogs(s: Sequelize) {
  return {
    logs: defineTable<LogRow, 'id'>(s, 'logs', {
      id: col.id(),
      name: col.text(),
      slug: col.varchar(50),
      stepid: col.int(),
      complete: col.smallint(),
      num_lines: col.int(),
      type: col.varchar(1),
    }),
    logchunks: defineTable<LogchunkRow, 'content'>(s, 'logchunks', {
      logid: col.int(),
      first_line: col.int(),
      last_line: col.int(),
      content: col.blob({ null: true }),
      compressed: col.smallint(),
    }, { withoutPrimaryKey: true }),
  };
}
