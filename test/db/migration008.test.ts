import { expect } from 'chai';
import type { Database } from '../../lib/db/connection.js';
import { getSchemaStatus, upgradeDatabase } from '../../lib/db/migrate.js';
import { MIGRATIONS } from '../../lib/db/migrations/index.js';
import { select } from '../../lib/db/query.js';
import { forEachDialect } from '../support/databases.js';
import { addRequests, seed } from './dataSeed.js';

/** index name → its columns in order, `-` before a descending one. */
async function buildrequestIndexes(db: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  if (db.dialect === 'sqlite') {
    for (const { name } of await select<{ name: string }>(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'buildrequests' AND name LIKE 'buildrequests_pending%'")) {
      const cols = await select<{ name: string; desc: number; key: number }>(db, `SELECT name, "desc", key FROM pragma_index_xinfo('${name}') WHERE key = 1 ORDER BY seqno`);
      out[name] = cols.map((c) => (c.desc ? `-${c.name}` : c.name));
    }
    return out;
  }
  const rows = await select<{ name: string; col: string; collation: string | null }>(
    db,
    `SELECT index_name AS name, column_name AS col, collation FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND table_name = 'buildrequests' AND index_name LIKE 'buildrequests_pending%' ORDER BY index_name, seq_in_index`,
  );
  for (const r of rows) (out[r.name] ??= []).push(r.collation === 'D' ? `-${r.col}` : r.col);
  return out;
}

forEachDialect('migration 008_pending_index', (h) => {
  it('adds the two pending-queue indexes to buildrequests; a rerun adds nothing', async () => {
    const db = await h.connect();
    const at = MIGRATIONS.findIndex((m) => m.name === '008_pending_index');
    await upgradeDatabase(db, { backup: false, migrations: MIGRATIONS.slice(0, at) });
    expect((await getSchemaStatus(db)).pending[0]).to.equal('008_pending_index');
    await addRequests(db, (await seed(db)).builderid, 3);
    expect(await buildrequestIndexes(db)).to.deep.equal({});
    await upgradeDatabase(db, { backup: false });
    const want = {
      buildrequests_pending_age: ['builderid', 'complete', 'submitted_at'],
      buildrequests_pending_order: ['builderid', 'complete', '-priority', 'submitted_at'],
    };
    expect(await buildrequestIndexes(db)).to.deep.equal(want);
    await MIGRATIONS[at]!.up({
      dialect: db.dialect,
      caps: db.caps,
      sequelize: db.sequelize,
      execute: async (sql) => void (await db.sequelize.query(sql)),
    });
    expect(await buildrequestIndexes(db)).to.deep.equal(want);
  });
});
