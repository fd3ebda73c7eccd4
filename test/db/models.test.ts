import { expect } from 'chai';
import { BUILDBOT_3_7_TABLES } from '../../lib/db/migrations/index.js';
import { ADDED_COLUMNS } from '../../lib/db/migrations/additions.js';
import { BUILDBOT_HISTORY } from '../fixtures/buildbot/history.js';
import { forEachDialect } from '../support/databases.js';

/** The SQL type a Sequelize attribute stands for, in the spelling the database reports. */
function declaredType(attr: { type: { key: string; options?: { length?: number } } }): string {
  const { key, options } = attr.type;
  if (key === 'STRING') return `VARCHAR(${options?.length})`;
  return key;
}

forEachDialect('table models', (h) => {
  it('cover all 38 Buildbot tables, named as Buildbot names them, with no timestamps', async () => {
    const db = await h.open();
    expect(Object.keys(db.models).sort()).to.deep.equal([...BUILDBOT_3_7_TABLES].sort());
    for (const [table, model] of Object.entries(db.models)) {
      expect(model.getTableName(), table).to.equal(table);
      expect(model.options.timestamps, table).to.equal(false);
    }
  });

  it('have exactly each table\'s columns, in order, with the same type and nullability', async () => {
    const db = await h.open();
    const qi = db.sequelize.getQueryInterface();
    for (const [table, model] of Object.entries(db.models)) {
      const columns = await qi.describeTable(table);
      // The models describe Buildbot's columns; our own added ones are read by raw SQL only.
      for (const added of ADDED_COLUMNS[table] ?? []) delete columns[added];
      type Attr = { type: { key: string; options?: { length?: number } }; allowNull?: boolean };
      const attrs = (model as unknown as { getAttributes(): Record<string, Attr> }).getAttributes();
      expect(Object.keys(attrs), table).to.deep.equal(Object.keys(columns));
      for (const [name, column] of Object.entries(columns)) {
        const attr = attrs[name]!;
        // sqlite reports the declared type; MySQL reports INT/SMALLINT/TEXT/VARCHAR(n)/BLOB variants.
        const reported = column.type.replace(/^(INT|SMALLINT)\(\d+\)$/, '$1').replace(/^INT$/, 'INTEGER').replace(/^(MEDIUM|LONG)BLOB$/, 'BLOB');
        expect(reported, `${table}.${name}`).to.equal(declaredType(attr));
        expect(attr.allowNull !== false, `${table}.${name} nullable`).to.equal(column.allowNull);
      }
    }
  });

  it('write a full Buildbot history into every table and read it back, also where there is no primary key', async () => {
    const db = await h.open();
    const models = db.models as unknown as Record<string, { bulkCreate(rows: readonly object[]): Promise<unknown>; count(): Promise<number> }>;
    for (const [table, rows] of BUILDBOT_HISTORY) {
      await models[table]!.bulkCreate(rows);
      expect(await models[table]!.count(), table).to.equal(rows.length);
    }
    const { builders, change_files, logchunks, buildrequest_claims, masters } = db.models;
    expect((await builders.findByPk(1))?.get('description')).to.equal(null);
    expect((await change_files.findAll({ where: { changeid: 1 }, order: [['filename', 'ASC']] })).map((r) => r.get('filename')))
      .to.deep.equal(['README', 'src/main.c']);
    const chunk = await logchunks.findOne({ where: { logid: 2 } });
    expect(Buffer.isBuffer(chunk!.get('content'))).to.equal(true);
    expect((chunk!.get('content') as Buffer).toString()).to.equal('src/main.c:3: warning: unused');
    expect((await buildrequest_claims.findByPk(1))?.get('masterid')).to.equal(1);
    const created = await masters.create({ name: 'other:/m', name_hash: 'f'.repeat(40), active: 0, last_active: 0 });
    expect(created.get('id')).to.equal(2);
  });
});
