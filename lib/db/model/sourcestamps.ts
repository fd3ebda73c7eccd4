import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface PatchRow {
  id: number;
  patchlevel: number;
  patch_base64: string;
  patch_author: string;
  patch_comment: string;
  subdir: string | null;
}

export interface SourcestampRow {
  id: number;
  /** hashColumns(branch, revision, repository, project, codebase, patchid): the dedup key. */
  ss_hash: string;
  branch: string | null;
  revision: string | null;
  patchid: number | null;
  repository: string;
  codebase: string;
  project: string;
  created_at: number;
}

export function defineSourcestamps(s: Sequelize) {
  return {
    patches: defineTable<PatchRow, 'id' | 'subdir'>(s, 'patches', {
      id: col.id(),
      patchlevel: col.int(),
      patch_base64: col.text(),
      patch_author: col.text(),
      patch_comment: col.text(),
      subdir: col.text({ null: true }),
    }),
    sourcestamps: defineTable<SourcestampRow, 'id' | 'branch' | 'revision' | 'patchid' | 'repository' | 'codebase' | 'project'>(
      s, 'sourcestamps', {
        id: col.id(),
        ss_hash: col.varchar(40),
        branch: col.varchar(256, { null: true }),
        revision: col.varchar(256, { null: true }),
        patchid: col.int({ null: true }),
        repository: col.varchar(512, { default: '' }),
        codebase: col.varchar(256, { default: '' }),
        project: col.varchar(512, { default: '' }),
        created_at: col.int(),
      }),
  };
}
