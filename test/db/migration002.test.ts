import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { getSchemaStatus, upgradeDatabase } from '../../lib/db/migrate.js';
import { MIGRATIONS } from '../../lib/db/migrations/index.js';
import { addLog } from '../../lib/db/logs.js';
import { addStep } from '../../lib/db/steps.js';
import { forEachDialect } from '../support/databases.js';
import { seed, seedBuild } from './dataSeed.js';

interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
}

async function logchunkColumns(db: Database): Promise<ColumnInfo[]> {
  const described = await db.sequelize.getQueryInterface().describeTable('logchunks');
  return Object.entries(described).map(([name, c]) => ({ name, type: c.type, nullable: c.allowNull }));
}

forEachDialect('migration 002_logchunk_timestamps', (h) => {
  it('gives a fresh database a nullable timestamps blob, last in logchunks', async () => {
    const db = await h.open();
    const columns = await logchunkColumns(db);
    expect(columns.map((c) => c.name)).to.deep.equal(['logid', 'first_line', 'last_line', 'content', 'compressed', 'timestamps']);
    expect(columns[5]).to.deep.equal({ name: 'timestamps', type: h.dialect === 'sqlite' ? 'BLOB' : 'MEDIUMBLOB', nullable: true });
  });

  it('upgrades a database at 001 keeping its log chunks, whose timestamps read NULL', async () => {
    const db = await h.connect();
    await upgradeDatabase(db, { backup: false, migrations: MIGRATIONS.slice(0, 1) });
    const { stepid } = await addStep(db, await seedBuild(db, await seed(db)), 'shell');
    const { logid } = await addLog(db, stepid, 'stdio', 's');
    // As Buildbot writes a chunk: no timestamps column yet.
    await db.sequelize.query("INSERT INTO logchunks (logid, first_line, last_line, content, compressed) VALUES (?, 0, 1, X'610a62', 0)", { replacements: [logid] });
    const later = MIGRATIONS.slice(1).map((m) => m.name);
    expect(later[0]).to.equal('002_logchunk_timestamps');
    expect((await getSchemaStatus(db)).pending).to.deep.equal(later);

    const result = await upgradeDatabase(db, { backup: false });
    expect(result.applied).to.deep.equal(later);
    expect((await getSchemaStatus(db)).state).to.equal('current');
    const [rows] = await db.sequelize.query('SELECT logid, first_line, last_line, content, compressed, timestamps FROM logchunks');
    expect(rows).to.deep.equal([{ logid, first_line: 0, last_line: 1, content: Buffer.from('a\nb'), compressed: 0, timestamps: null }]);
    await db.sequelize.query("UPDATE logchunks SET timestamps = X'0102'");
    const [after] = await db.sequelize.query('SELECT timestamps FROM logchunks');
    expect(after).to.deep.equal([{ timestamps: Buffer.from([1, 2]) }]);
  });
});
