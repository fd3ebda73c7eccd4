import { expect } from 'chai';
import { ADDED_TABLES } from '../../lib/db/migrations/additions.js';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { SchemaError } from '../../lib/errors/index.js';
import { assertSchemaCurrent, getSchemaStatus, MIGRATIONS_TABLE, upgradeDatabase } from '../../lib/db/migrate.js';
import { BUILDBOT_3_7_TABLES, MIGRATIONS, type MigrationDef } from '../../lib/db/migrations/index.js';
import type { Database } from '../../lib/db/connection.js';
import { forEachDialect } from '../support/databases.js';

const FIRST = '001_buildbot_3_7_schema';

/** A second migration, for exercising "behind" and backups before we have a real one. */
const addTable: MigrationDef = {
  name: '002_test_add_table',
  async up(ctx) {
    await ctx.execute(`CREATE TABLE test_extra (id INTEGER NOT NULL, PRIMARY KEY (id))${ctx.caps.tableOptions}`);
  },
};

const failing: MigrationDef = {
  name: '002_test_fails',
  async up(ctx) {
    await ctx.execute(`CREATE TABLE test_half (id INTEGER NOT NULL)${ctx.caps.tableOptions}`);
    await ctx.execute('INSERT INTO no_such_table VALUES (1)');
  },
};

async function tables(db: Database): Promise<string[]> {
  return ((await db.sequelize.getQueryInterface().showAllTables()) as string[]).sort();
}

async function expectSchemaError(promise: Promise<unknown>, pattern: RegExp): Promise<SchemaError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).to.be.instanceOf(SchemaError);
  expect((err as SchemaError).userError).to.equal(true);
  expect((err as SchemaError).message).to.match(pattern);
  return err as SchemaError;
}

forEachDialect('migrations', (h) => {
  it('lists the migrations explicitly, in order, starting with the Buildbot 3.7 schema', () => {
    expect(MIGRATIONS.map((m) => m.name)[0]).to.equal(FIRST);
    const names = MIGRATIONS.map((m) => m.name);
    expect([...names].sort()).to.deep.equal(names);
  });

  it('takes an empty database to the current schema', async () => {
    const db = await h.connect();
    expect((await getSchemaStatus(db)).state).to.equal('empty');

    const result = await upgradeDatabase(db);

    expect(result).to.deep.equal({ applied: MIGRATIONS.map((m) => m.name), upToDate: false, adoptedBuildbot: false });
    const status = await getSchemaStatus(db);
    expect(status).to.include({ state: 'current', buildbotRevision: '059' });
    expect(status.pending).to.deep.equal([]);
    expect(await tables(db)).to.deep.equal([...BUILDBOT_3_7_TABLES, 'alembic_version', ...ADDED_TABLES].sort());
    const [rows] = await db.sequelize.query(`SELECT name, applied_at FROM ${MIGRATIONS_TABLE}`);
    expect((rows as { name: string }[]).map((r) => r.name).sort()).to.deep.equal(MIGRATIONS.map((m) => m.name));
    expect(Number((rows as { applied_at: number }[])[0]!.applied_at)).to.be.closeTo(Date.now() / 1000, 60);
    await assertSchemaCurrent(db);
  });

  it('does nothing the second time: upToDate, nothing touched, no backup', async () => {
    const db = await h.open();
    const [before] = await db.sequelize.query(`SELECT * FROM ${MIGRATIONS_TABLE}`);
    expect(await upgradeDatabase(db)).to.deep.equal({ applied: [], upToDate: true, adoptedBuildbot: false });
    const [after] = await db.sequelize.query(`SELECT * FROM ${MIGRATIONS_TABLE}`);
    expect(after).to.deep.equal(before);
    expect(readdirSync(h.basedir()).filter((f) => f.includes('.bak-'))).to.deep.equal([]);
  });

  it('applies only the pending migrations, backing a sqlite file up first', async () => {
    const db = await h.open();
    const migrations = [...MIGRATIONS, addTable];
    expect(await getSchemaStatus(db, { migrations })).to.include({ state: 'behind' });

    const result = await upgradeDatabase(db, { migrations });

    expect(result.applied).to.deep.equal([addTable.name]);
    expect(await tables(db)).to.include('test_extra');
    if (db.caps.fileBackup) {
      expect(path.dirname(result.backupPath!)).to.equal(h.basedir());
      expect(path.basename(result.backupPath!)).to.match(/^state\.sqlite\.bak-\d{8}T\d{6}Z$/);
      const backup = await h.connect(`sqlite:///${path.basename(result.backupPath!)}`);
      expect(await tables(backup)).not.to.include('test_extra');
      expect((await getSchemaStatus(backup)).state).to.equal('current');
    } else {
      expect(result.backupPath).to.equal(undefined);
    }
    expect(await getSchemaStatus(db, { migrations })).to.include({ state: 'current' });
  });

  it('skips the backup when asked to', async () => {
    const db = await h.open();
    const result = await upgradeDatabase(db, { migrations: [...MIGRATIONS, addTable], backup: false });
    expect(result.backupPath).to.equal(undefined);
    expect(readdirSync(h.basedir()).filter((f) => f.includes('.bak-'))).to.deep.equal([]);
  });

  it('refuses a database upgraded by a newer buildmaster, and touches nothing', async () => {
    const db = await h.open();
    await db.sequelize.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, applied_at) VALUES ('999_from_the_future', 0)`);
    expect(await getSchemaStatus(db)).to.include({ state: 'ahead' });

    await expectSchemaError(upgradeDatabase(db), /^this database was upgraded by a newer buildmaster \(999_from_the_future\); refusing$/);
    await expectSchemaError(assertSchemaCurrent(db), /newer buildmaster/);
    expect(readdirSync(h.basedir()).filter((f) => f.includes('.bak-'))).to.deep.equal([]);
  });

  it('refuses a Buildbot database at another alembic revision', async () => {
    const db = await h.open();
    await db.sequelize.query(`DELETE FROM ${MIGRATIONS_TABLE}`);
    await db.sequelize.query(`DROP TABLE ${MIGRATIONS_TABLE}`);
    await db.sequelize.query("UPDATE alembic_version SET version_num = '060'");
    const status = await getSchemaStatus(db);
    expect(status).to.include({ state: 'foreign', buildbotRevision: '060' });

    await expectSchemaError(upgradeDatabase(db), /alembic revision 060.*upgrade it with Buildbot 3\.7/);
    expect(await tables(db)).not.to.include(MIGRATIONS_TABLE);
  });

  it('refuses a Buildbot database from before alembic (sqlalchemy-migrate)', async () => {
    const db = await h.connect();
    await db.sequelize.query(`CREATE TABLE migrate_version (repository_id VARCHAR(250) NOT NULL, version INTEGER)${db.caps.tableOptions}`);
    await db.sequelize.query("INSERT INTO migrate_version VALUES ('Buildbot', 58)");
    await expectSchemaError(upgradeDatabase(db), /older than 3\.0.*Buildbot 3\.7/);
    expect(await tables(db)).to.deep.equal(['migrate_version']);
  });

  it('refuses a database that is neither Buildbot\'s nor ours', async () => {
    const db = await h.connect();
    await db.sequelize.query(`CREATE TABLE invoices (id INTEGER NOT NULL)${db.caps.tableOptions}`);
    await expectSchemaError(upgradeDatabase(db), /not a Buildbot or buildmaster database \(it has tables invoices\)/);
    expect(await tables(db)).to.deep.equal(['invoices']);
  });

  it('refuses a Buildbot 3.7 database with tables missing', async () => {
    const db = await h.open();
    await db.sequelize.query(`DROP TABLE ${MIGRATIONS_TABLE}`);
    await db.sequelize.query('DROP TABLE test_results');
    await expectSchemaError(upgradeDatabase(db), /without the tables test_results/);
  });

  it('asks for upgrade-master when the schema is behind or missing', async () => {
    const db = await h.connect();
    await expectSchemaError(assertSchemaCurrent(db), /run `buildmaster upgrade-master DIR`/);
    await upgradeDatabase(db);
    await expectSchemaError(assertSchemaCurrent(db, { migrations: [...MIGRATIONS, addTable] }), /002_test_add_table.*upgrade-master/);
  });

  it('records nothing for a failing migration (and rolls its DDL back where DDL is transactional)', async () => {
    const db = await h.open();
    await expectSchemaError(upgradeDatabase(db, { migrations: [...MIGRATIONS, failing] }), /^database migration failed: .*no_such_table/);
    const status = await getSchemaStatus(db, { migrations: [...MIGRATIONS, failing] });
    expect(status).to.include({ state: 'behind' });
    expect(status.pending).to.deep.equal([failing.name]);
    expect((await tables(db)).includes('test_half')).to.equal(!db.caps.transactionalDdl);
  });
});
