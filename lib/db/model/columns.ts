import { DataTypes, Model, type ModelAttributeColumnOptions, type ModelStatic, type Optional, type Sequelize } from 'sequelize';

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
  id: (): Column => ({ type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true, allowNull: false }),
  /** An INTEGER primary key that the caller supplies (e.g. scheduler_masters.schedulerid). */
  key: (): Column => ({ type: DataTypes.INTEGER, primaryKey: true, autoIncrement: false, allowNull: false }),
  int: (o: ColumnOpts = {}): Column => column(DataTypes.INTEGER, o),
  smallint: (o: ColumnOpts = {}): Column => column(DataTypes.SMALLINT, o),
  text: (o: ColumnOpts = {}): Column => column(DataTypes.TEXT, o),
  varchar: (length: number, o: ColumnOpts = {}): Column => column(DataTypes.STRING(length), o),
  blob: (o: ColumnOpts = {}): Column => column(DataTypes.BLOB, o),
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
