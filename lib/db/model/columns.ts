import { createRequire } from 'node:module';
import type { Model, ModelAttributeColumnOptions, ModelStatic, Optional, Sequelize } from 'sequelize';

// Sequelize is loaded on first use (defining the models), not when this module is imported: a
// running master queries through lib/db/query.ts and need not pay for it (see connection.ts).
const require = createRequire(import.meta.url);
const types = (): typeof import('sequelize').DataTypes => (require('sequelize') as typeof import('sequelize')).DataTypes;

/**
 * Helpers for the table models. The models describe Buildbot's tables for queries only: the
 * schema itself is created by the migrations (frozen DDL), so nothing here is ever `sync()`ed.
 */

/** A model of one table: `Row` as read, with the `Opt` columns optional on create. */
export type TableModel<Row extends object, Opt extends keyof Row = never> = ModelStatic<Model<Row, Optional<Row, Opt>>>;

type Column = ModelAttributeColumnOptions;
interface ColumnOpts {
  /** NULL allowed (Buildbot's `nullable=True`, the SQLAlchemy default). */
  null?: boolean;
  /** The column's server default, repeated here so creates through Sequelize send it too. */
  default?: number | string;
}

function column(type: Column['type'], o: ColumnOpts): Column {
  return { type, allowNull: o.null ?? false, ...(o.default === undefined ? {} : { defaultValue: o.default }) };
}

export const col = {
  /** `id INTEGER PRIMARY KEY`, assigned by the database. */
  id: (): Column => ({ type: types().INTEGER, primaryKey: true, autoIncrement: true, allowNull: false }),
  /** An INTEGER primary key that the caller supplies (e.g. scheduler_masters.schedulerid). */
  key: (): Column => ({ type: types().INTEGER, primaryKey: true, autoIncrement: false, allowNull: false }),
  int: (o: ColumnOpts = {}): Column => column(types().INTEGER, o),
  smallint: (o: ColumnOpts = {}): Column => column(types().SMALLINT, o),
  text: (o: ColumnOpts = {}): Column => column(types().TEXT, o),
  varchar: (length: number, o: ColumnOpts = {}): Column => column(types().STRING(length), o),
  blob: (o: ColumnOpts = {}): Column => column(types().BLOB, o),
};

/**
 * Marks columns as Sequelize's identity for a table that has no primary key in Buildbot's schema
 * but a unique, non-null key: instance save/destroy then address the right row.
 */
export function identity(c: Column): Column {
  return { ...c, primaryKey: true, autoIncrement: false };
}

export function defineTable<Row extends object, Opt extends keyof Row = never>(
  sequelize: Sequelize,
  table: string,
  attributes: Record<keyof Row & string, Column>,
  options: { withoutPrimaryKey?: boolean } = {},
): TableModel<Row, Opt> {
  const model = sequelize.define<Model<Row, Optional<Row, Opt>>>(table, attributes as never, {
    tableName: table,
    freezeTableName: true,
    timestamps: false,
  });
  // Sequelize adds an `id` column to a model without a primary key; these tables have none.
  if (options.withoutPrimaryKey) model.removeAttribute('id');
  return model;
}
