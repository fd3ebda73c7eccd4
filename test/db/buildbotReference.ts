import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import sqlite3 from 'sqlite3';

/**
 * The real Buildbot 3.7 as the reference: `buildbot create-master` makes the sqlite file, and
 * Buildbot's own SQLAlchemy model compiles the MySQL DDL. Plus schema readers and a differ that
 * name every difference table by table, column by column.
 */
export const BUILDBOT_BIN = '/usr/bin/buildbot';
/** The Debian python that has buildbot and sqlalchemy (not a pyenv shim). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Skips the test without Buildbot, except under CI, where its absence is a failure. */
export function requireBuildbot(ctx: Mocha.Context): void {
  if (existsSync(BUILDBOT_BIN) && existsSync(SYSTEM_PYTHON)) return;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${BUILDBOT_BIN} is missing: apt-get install buildbot`);
  ctx.skip();
}

/**
 * Runs the real `buildbot create-master` in `dir`/buildbot-master and returns the absolute path of
 * the sqlite DB it made (`file`, by default `dir`/buildbot-state.sqlite).
 */
export function buildbotCreateMaster(dir: string, file = path.join(dir, 'buildbot-state.sqlite')): string {
  execFileSync(BUILDBOT_BIN, ['create-master', '-q', '--db', `sqlite:///${file}`, path.join(dir, 'buildbot-master')], {
    stdio: 'pipe',
  });
  return file;
}

const MYSQL_DDL_SCRIPT = `
import json, sqlalchemy as sa
from buildbot.db.model import Model
out = []
eng = sa.create_mock_engine('mysql://', lambda sql, *a, **k: out.append(str(sql.compile(dialect=eng.dialect)).strip()))
Model.metadata.create_all(eng, checkfirst=False)
print(json.dumps(out))
`;

/**
 * The statements Buildbot 3.7's `create_all` issues on MySQL (as `buildbot upgrade-master` on an
 * empty MySQL DB would), plus alembic's stamp of revision 059. No MySQL driver is needed.
 */
export function buildbotMysqlDdl(): string[] {
  const out = execFileSync(SYSTEM_PYTHON, ['-c', MYSQL_DDL_SCRIPT], { encoding: 'utf8' });
  return [
    ...(JSON.parse(out) as string[]),
    'CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))',
    "INSERT INTO alembic_version (version_num) VALUES ('059')",
  ];
}

export interface TableSchema {
  columns: Record<string, unknown>[];
  indexes: Record<string, unknown>[];
  foreignKeys: Record<string, unknown>[];
}
export type Schema = Record<string, TableSchema>;

function sqliteAll(db: sqlite3.Database, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => db.all(sql, (err, rows) => (err ? reject(err) : resolve(rows as Record<string, unknown>[]))));
}

/** Reads a sqlite file's schema through PRAGMAs, read-only. */
export async function readSqliteSchema(file: string): Promise<Schema> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    const schema: Schema = {};
    const tables = await sqliteAll(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    for (const { name } of tables) {
      const t = String(name);
      const columns = (await sqliteAll(db, `PRAGMA table_xinfo("${t}")`)).map(({ cid: _cid, ...c }) => c);
      const indexes = [];
      for (const ix of await sqliteAll(db, `PRAGMA index_list("${t}")`)) {
        const cols = await sqliteAll(db, `PRAGMA index_info("${String(ix.name)}")`);
        indexes.push({
          name: ix.name,
          unique: ix.unique,
          origin: ix.origin,
          partial: ix.partial,
          columns: cols.sort((a, b) => Number(a.seqno) - Number(b.seqno)).map((c) => c.name),
        });
      }
      const foreignKeys = (await sqliteAll(db, `PRAGMA foreign_key_list("${t}")`)).map(({ id: _id, ...fk }) => fk);
      schema[t] = { columns, indexes: sortBy(indexes, 'name'), foreignKeys: sortByJson(foreignKeys) };
    }
    return schema;
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** Reads a MySQL database's schema from information_schema. */
export async function readMysqlSchema(conn: mysql.Connection, database: string): Promise<Schema> {
  const q = async (sql: string) => (await conn.query(sql, [database]))[0] as Record<string, unknown>[];
  const schema: Schema = {};
  const tables = await q('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME');
  for (const { t } of tables) schema[String(t)] = { columns: [], indexes: [], foreignKeys: [] };
  // COLUMN_KEY is left out: it is derived from the indexes (compared below, one by one), and for a table
  // without a primary key (users_info) MySQL shows as 'PRI' whichever NOT NULL unique index it picked as
  // the clustered key — which varied between runs on identical DDL.
  const columns = await q(`SELECT TABLE_NAME AS t, COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
      COLUMN_DEFAULT AS dflt, EXTRA AS extra
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`);
  for (const { t, ...c } of columns) schema[String(t)]!.columns.push(c);
  const stats = await q(`SELECT TABLE_NAME AS t, INDEX_NAME AS name, NON_UNIQUE AS non_unique, COLUMN_NAME AS col,
      SUB_PART AS sub_part FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?
    ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`);
  for (const s of stats) {
    const table = schema[String(s.t)]!;
    let ix = table.indexes.find((i) => i.name === s.name);
    if (!ix) table.indexes.push((ix = { name: s.name, unique: Number(s.non_unique) === 0, columns: [] }));
    (ix.columns as string[]).push(s.sub_part ? `${String(s.col)}(${String(s.sub_part)})` : String(s.col));
  }
  const fks = await q(`SELECT k.TABLE_NAME AS t, k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS \`from\`,
      k.REFERENCED_TABLE_NAME AS \`table\`, k.REFERENCED_COLUMN_NAME AS \`to\`, r.DELETE_RULE AS on_delete,
      r.UPDATE_RULE AS on_update
    FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
      ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
    WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL`);
  for (const { t, ...fk } of fks) schema[String(t)]!.foreignKeys.push(fk);
  for (const table of Object.values(schema)) {
    table.indexes = sortBy(table.indexes, 'name');
    table.foreignKeys = sortByJson(table.foreignKeys);
  }
  return schema;
}

function sortBy<T extends Record<string, unknown>>(rows: T[], key: string): T[] {
  return [...rows].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
}

function sortByJson<T>(rows: T[]): T[] {
  return [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/**
 * Every difference between two schemas, as readable lines (empty when identical). Tables in
 * `ignoreTables` (our own additions) are left out of `actual`.
 */
export function diffSchemas(expected: Schema, actual: Schema, ignoreTables: readonly string[] = []): string[] {
  const diffs: string[] = [];
  const ours = Object.keys(actual).filter((t) => !ignoreTables.includes(t));
  for (const t of Object.keys(expected)) if (!ours.includes(t)) diffs.push(`table ${t}: missing`);
  for (const t of ours) if (!expected[t]) diffs.push(`table ${t}: not in Buildbot's schema`);
  for (const t of Object.keys(expected).filter((x) => ours.includes(x))) {
    const e = expected[t]!;
    const a = actual[t]!;
    const names = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.name));
    if (names(e.columns).join() !== names(a.columns).join()) {
      diffs.push(`table ${t}: columns ${names(a.columns).join(', ')}; Buildbot has ${names(e.columns).join(', ')}`);
    }
    for (const ec of e.columns) {
      const ac = a.columns.find((c) => c.name === ec.name);
      if (ac && JSON.stringify(ac) !== JSON.stringify(ec)) diffs.push(`column ${t}.${String(ec.name)}: ${JSON.stringify(ac)}; Buildbot: ${JSON.stringify(ec)}`);
    }
    for (const ei of e.indexes) {
      const ai = a.indexes.find((i) => i.name === ei.name);
      if (!ai) diffs.push(`index ${t}.${String(ei.name)}: missing`);
      else if (JSON.stringify(ai) !== JSON.stringify(ei)) diffs.push(`index ${t}.${String(ei.name)}: ${JSON.stringify(ai)}; Buildbot: ${JSON.stringify(ei)}`);
    }
    for (const ai of a.indexes) if (!e.indexes.some((i) => i.name === ai.name)) diffs.push(`index ${t}.${String(ai.name)}: not in Buildbot's schema`);
    if (JSON.stringify(e.foreignKeys) !== JSON.stringify(a.foreignKeys)) {
      diffs.push(`table ${t}: foreign keys ${JSON.stringify(a.foreignKeys)}; Buildbot: ${JSON.stringify(e.foreignKeys)}`);
    }
  }
  return diffs;
}
