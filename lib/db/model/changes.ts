import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface ChangeRow {
  changeid: number;
  author: string;
  committer: string | null;
  comments: string;
  /** NULL means the default branch. */
  branch: string | null;
  revision: string | null;
  revlink: string | null;
  when_timestamp: number;
  category: string | null;
  repository: string;
  codebase: string;
  project: string;
  sourcestampid: number;
  /** A single parent change id, despite the plural. */
  parent_changeids: number | null;
}

export interface ChangeFileRow {
  changeid: number;
  filename: string;
}

export interface ChangePropertyRow {
  changeid: number;
  property_name: string;
  /** JSON `[value, source]`. */
  property_value: string;
}

export interface ChangeUserRow {
  changeid: number;
  uid: number;
}

type ChangeOptional = 'changeid' | 'committer' | 'branch' | 'revision' | 'revlink' | 'category'
  | 'repository' | 'codebase' | 'project' | 'parent_changeids';

export function defineChanges(s: Sequelize) {
  return {
    changes: defineTable<ChangeRow, ChangeOptional>(s, 'changes', {
      changeid: col.id(),
      author: col.varchar(255),
      committer: col.varchar(255, { null: true }),
      comments: col.text(),
      branch: col.varchar(255, { null: true }),
      revision: col.varchar(255, { null: true }),
      revlink: col.varchar(256, { null: true }),
      when_timestamp: col.int(),
      category: col.varchar(255, { null: true }),
      repository: col.varchar(512, { default: '' }),
      codebase: col.varchar(256, { default: '' }),
      project: col.varchar(512, { default: '' }),
      sourcestampid: col.int(),
      parent_changeids: col.int({ null: true }),
    }),
    change_files: defineTable<ChangeFileRow>(s, 'change_files', {
      changeid: col.int(),
      filename: col.varchar(1024),
    }, { withoutPrimaryKey: true }),
    change_properties: defineTable<ChangePropertyRow>(s, 'change_properties', {
      changeid: col.int(),
      property_name: col.varchar(256),
      property_value: col.text(),
    }, { withoutPrimaryKey: true }),
    change_users: defineTable<ChangeUserRow>(s, 'change_users', {
      changeid: col.int(),
      uid: col.int(),
    }, { withoutPrimaryKey: true }),
  };
}
