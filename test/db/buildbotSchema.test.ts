import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { BUILDBOT_3_7_TABLES } from '../../lib/db/migrations/index.js';
import { ADDED_COLUMNS, ADDED_INDEXES, ADDED_TABLES } from '../../lib/db/migrations/additions.js';
import { parseDbUrl, type MysqlTarget } from '../../lib/db/url.js';
import { forEachDialect } from '../support/databases.js';
import {
  buildbotCreateMaster,
  buildbotMysqlDdl,
  diffSchemas,
  readMysqlSchema,
  readSqliteSchema,
  requireBuildbot,
  type Schema,
} from './buildbotReference.js';

/** Tables we add beside Buildbot's; everything else must be exactly Buildbot's. */
const OUR_TABLES = [...ADDED_TABLES];

/** `schema` without the nullable columns and extra indexes our migrations add to Buildbot's tables. */
function withoutAddedColumns(schema: Schema): Schema {
  const out: Schema = { ...schema };
  for (const [table, added] of Object.entries(ADDED_COLUMNS)) {
    const t = out[table];
    if (t) out[table] = { ...t, columns: t.columns.filter((c) => !added.includes(String(c.name))) };
  }
  for (const [table, added] of Object.entries(ADDED_INDEXES)) {
    const t = out[table];
    if (t) out[table] = { ...t, indexes: t.indexes.filter((i) => !added.includes(String(i.name))) };
  }
  return out;
}

forEachDialect('the migrated schema is Buildbot 3.7\'s', (h) => {
  let reference: Schema;
  let refDir: string | undefined;

  before(async function () {
    this.timeout(120_000);
    requireBuildbot(this);
    if (h.dialect !== 'sqlite') return;
    refDir = mkdtempSync(path.join(os.tmpdir(), 'bmtest-buildbot-'));
    reference = await readSqliteSchema(buildbotCreateMaster(refDir));
  });

  after(() => {
    if (refDir) rmSync(refDir, { recursive: true, force: true });
  });

  async function mysqlSchemas(): Promise<{ ours: Schema; buildbot: Schema; conn: mysql.Connection }> {
    const db = await h.open();
    const refUrl = await h.freshUrl();
    const t = parseDbUrl(refUrl, '/') as MysqlTarget;
    const conn = await mysql.createConnection({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database });
    for (const statement of buildbotMysqlDdl()) await conn.query(statement);
    const ours = await readMysqlSchema(conn, (db.target as MysqlTarget).database);
    const buildbot = await readMysqlSchema(conn, t.database);
    return { ours, buildbot, conn };
  }

  it('has exactly Buildbot\'s 38 tables plus alembic_version, and only our own table besides', async () => {
    const db = await h.open();
    const tables = (await db.sequelize.getQueryInterface().showAllTables()) as string[];
    expect([...tables].sort()).to.deep.equal([...BUILDBOT_3_7_TABLES, 'alembic_version', ...OUR_TABLES].sort());
    expect(BUILDBOT_3_7_TABLES).to.have.length(38);
    const [rows] = await db.sequelize.query('SELECT version_num FROM alembic_version');
    expect(rows).to.deep.equal([{ version_num: '059' }]);
  });

  it('matches table by table, column by column (name, type, not-null, default), index by index and foreign key by foreign key', async function () {
    if (h.dialect === 'sqlite') {
      const db = await h.open();
      const ours = await readSqliteSchema(db.sqlitePath!);
      expect(Object.keys(reference)).to.have.length(39);
      expect(diffSchemas(reference, withoutAddedColumns(ours), OUR_TABLES)).to.deep.equal([]);
      return;
    }
    const { ours, buildbot, conn } = await mysqlSchemas();
    try {
      expect(Object.keys(buildbot)).to.have.length(39);
      expect(diffSchemas(buildbot, withoutAddedColumns(ours), OUR_TABLES)).to.deep.equal([]);
    } finally {
      await conn.end();
    }
  });

  it('stores 4-byte UTF-8 (MySQL: every table InnoDB, utf8mb4, binary collation)', async () => {
    const db = await h.open();
    if (h.dialect === 'mysql') {
      const [rows] = await db.sequelize.query(
        'SELECT TABLE_NAME AS t, ENGINE AS engine, TABLE_COLLATION AS coll FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
      );
      expect(rows).to.have.length(BUILDBOT_3_7_TABLES.length + 1 + ADDED_TABLES.length);
      for (const r of rows as { t: string; engine: string; coll: string }[]) {
        expect([r.t, r.engine, r.coll]).to.deep.equal([r.t, 'InnoDB', 'utf8mb4_bin']);
      }
    }
    await db.models.masters.create({ name: 'm-😀', name_hash: 'h', active: 0, last_active: 0 });
    const m = await db.models.masters.findOne({ where: { name_hash: 'h' } });
    expect(m?.get('name')).to.equal('m-😀');
  });
});

describe('the schema differ used above', () => {
  const base = (): Schema => ({
    steps: {
      columns: [
        { name: 'id', type: 'INTEGER', notnull: 1, dflt_value: null, pk: 1 },
        { name: 'hidden', type: 'SMALLINT', notnull: 1, dflt_value: "'0'", pk: 0 },
      ],
      indexes: [{ name: 'steps_number', unique: 1, columns: ['buildid', 'number'] }],
      foreignKeys: [{ table: 'builds', from: 'buildid', to: 'id', on_delete: 'CASCADE' }],
    },
  });

  it('finds nothing between identical schemas', () => {
    expect(diffSchemas(base(), base())).to.deep.equal([]);
  });

  it('names each changed type, NOT NULL, default, index, foreign key and table', () => {
    const changed = base();
    const steps = changed.steps!;
    steps.columns[1] = { name: 'hidden', type: 'INTEGER', notnull: 0, dflt_value: "'1'", pk: 0 };
    steps.indexes = [{ name: 'steps_number', unique: 0, columns: ['buildid', 'number'] }, { name: 'extra', unique: 0, columns: ['id'] }];
    steps.foreignKeys = [];
    changed.extra_table = { columns: [], indexes: [], foreignKeys: [] };
    const diffs = diffSchemas(base(), changed);
    expect(diffs).to.have.length(5);
    expect(diffs[0]).to.equal('table extra_table: not in Buildbot\'s schema');
    expect(diffs[1]).to.match(/^column steps\.hidden: .*"INTEGER".*Buildbot: .*"SMALLINT"/);
    expect(diffs[2]).to.match(/^index steps\.steps_number: /);
    expect(diffs[3]).to.equal('index steps.extra: not in Buildbot\'s schema');
    expect(diffs[4]).to.match(/^table steps: foreign keys \[\]/);
    expect(diffSchemas(base(), changed, ['extra_table'])).to.have.length(4);
  });
});
