import type { Sequelize } from 'sequelize';
import { col, defineTable, identity } from './columns.js';

export interface UserRow {
  uid: number;
  identifier: string;
  bb_username: string | null;
  bb_password: string | null;
}

/** A user's identity in one system, e.g. attr_type 'git', attr_data 'Ann <ann@example.org>'. */
export interface UserInfoRow {
  uid: number;
  attr_type: string;
  attr_data: string;
}

export function defineUsers(s: Sequelize) {
  return {
    users: defineTable<UserRow, 'uid' | 'bb_username' | 'bb_password'>(s, 'users', {
      uid: col.id(),
      identifier: col.varchar(255),
      bb_username: col.varchar(128, { null: true }),
      bb_password: col.varchar(128, { null: true }),
    }),
    users_info: defineTable<UserInfoRow>(s, 'users_info', {
      uid: identity(col.int()),
      attr_type: identity(col.varchar(128)),
      attr_data: col.varchar(128),
    }),
  };
}
