import type { Sequelize, Transaction } from 'sequelize';
import type { DialectCaps, DialectName } from '../dialects.js';

/** What a migration gets to work with. */
export interface MigrationContext {
  readonly dialect: DialectName;
  readonly caps: DialectCaps;
  readonly sequelize: Sequelize;
  /** The migration's transaction where DDL is transactional (sqlite); undefined on MySQL. */
  readonly transaction?: Transaction;
  /** Runs one SQL statement, inside the migration's transaction when there is one. */
  execute(sql: string): Promise<void>;
}

/**
 * One schema change. Its SQL is written out in the migration and never derived from the models,
 * so what a migration did stays what it did: once released, a migration is never edited.
 */
export interface MigrationDef {
  /** Recorded in buildmaster_migrations; sorts in the order migrations run. */
  readonly name: string;
  up(ctx: MigrationContext): Promise<void>;
}
