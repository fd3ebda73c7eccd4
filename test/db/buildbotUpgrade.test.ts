import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import mysql from 'mysql2/promise';
import type { Database } from '../../lib/db/connection.js';
import { getSchemaStatus, upgradeDatabase } from '../../lib/db/migrate.js';
import { BUILDBOT_3_7_TABLES, MIGRATIONS } from '../../lib/db/migrations/index.js';
import { ADDED_COLUMNS } from '../../lib/db/migrations/additions.js';
import { parseDbUrl, type MysqlTarget } from '../../lib/db/url.js';
import { BUILDBOT_HISTORY } from '../fixtures/buildbot/history.js';
import { forEachDialect } from '../support/databases.js';
import { SYSTEM_PYTHON, buildbotCreateMaster, buildbotMysqlDdl, requireBuildbot } from './buildbotReference.js';

type Snapshot = Record<string, string[]>;

/** Every row of every Buildbot table (Buildbot's columns), as sorted JSON with blobs in hex, for exact comparison. */
async function snapshot(db: Database): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const table of [...BUILDBOT_3_7_TABLES, 'alembic_version']) {
    const [rows] = await db.sequelize.query(`SELECT * FROM ${table}`);
    for (const added of ADDED_COLUMNS[table] ?? []) for (const r of rows as Record<string, unknown>[]) delete r[added];
    out[table] = (rows as Record<string, unknown>[])
      .map((r) => JSON.stringify(r, (_k, v) => (v?.type === 'Buffer' ? `hex:${Buffer.from(v.data).toString('hex')}` : v)))
      .sort();
  }
  return out;
}

/** Writes a log chunk the way Buildbot does, from Python, zlib level 9. */
const PYTHON_CHUNK = `
import sqlite3, sys, zlib
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO logchunks (logid, first_line, last_line, content, compressed) VALUES (2, 1, 1, ?, 1)",
          (zlib.compress("written by Python \\u00e9".encode("utf-8"), 9),))
c.commit()
`;

forEachDialect('upgrading a database made by Buildbot 3.7', (h) => {
  before(function () {
    requireBuildbot(this);
  });

  /** A Buildbot-made DB at h.url(): create-master on sqlite, Buildbot's own MySQL DDL on MySQL. */
  async function makeBuildbotDatabase(): Promise<void> {
    if (h.dialect === 'sqlite') {
      buildbotCreateMaster(h.basedir(), path.join(h.basedir(), 'state.sqlite'));
      return;
    }
    const t = parseDbUrl(h.url(), '/') as MysqlTarget;
    const conn = await mysql.createConnection({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database });
    try {
      for (const statement of buildbotMysqlDdl()) await conn.query(statement);
    } finally {
      await conn.end();
    }
  }

  async function fillWithHistory(): Promise<void> {
    const db = await h.connect();
    const models = db.models as unknown as Record<string, { bulkCreate(rows: readonly object[]): Promise<unknown> }>;
    for (const [table, rows] of BUILDBOT_HISTORY) await models[table]!.bulkCreate(rows);
    await db.close();
    if (h.dialect === 'sqlite') execFileSync(SYSTEM_PYTHON, ['-c', PYTHON_CHUNK, path.join(h.basedir(), 'state.sqlite')]);
  }

  it('is recognised as Buildbot 3.7 before the upgrade', async function () {
    this.timeout(60_000);
    await makeBuildbotDatabase();
    const status = await getSchemaStatus(await h.connect());
    expect(status.state).to.equal('buildbot');
    expect(status.buildbotRevision).to.equal('059');
  });

  it('adopts it with every row kept, the same values, and a backup of the sqlite file', async function () {
    this.timeout(60_000);
    await makeBuildbotDatabase();
    await fillWithHistory();
    const db = await h.connect();
    const before = await snapshot(db);
    for (const [table, rows] of BUILDBOT_HISTORY) {
      expect(before[table], table).to.have.length(rows.length + (h.dialect === 'sqlite' && table === 'logchunks' ? 1 : 0));
    }

    const result = await upgradeDatabase(db);

    expect(result.upToDate).to.equal(false);
    expect(result.adoptedBuildbot).to.equal(true);
    // Buildbot's schema counts as 001; our later migrations then run.
    expect(result.applied).to.deep.equal(MIGRATIONS.slice(1).map((m) => m.name));
    expect(await snapshot(db)).to.deep.equal(before);
    expect((await getSchemaStatus(db)).state).to.equal('current');
    if (h.dialect === 'sqlite') {
      expect(result.backupPath).to.match(/\/state\.sqlite\.bak-\d{8}T\d{6}Z$/);
      expect(existsSync(result.backupPath!)).to.equal(true);
      const backup = await h.connect(`sqlite:///${path.basename(result.backupPath!)}`);
      expect(await snapshot(backup)).to.deep.equal(before);
      expect((await getSchemaStatus(backup)).state).to.equal('buildbot');
    } else {
      expect(result.backupPath).to.equal(undefined);
    }
  });

  it('reads the rows back through the models, log chunks included', async function () {
    this.timeout(60_000);
    await makeBuildbotDatabase();
    await fillWithHistory();
    const db = await h.connect();
    await upgradeDatabase(db, { backup: false });
    const change = await db.models.changes.findByPk(1);
    expect(change?.get('comments')).to.equal('Fix ünïcode handling ✓\n\nLong body.');
    const pending = await db.models.buildrequests.findByPk(2);
    expect(pending?.get('results')).to.equal(-1);
    const chunk = await db.models.logchunks.findOne({ where: { logid: 1 } });
    expect(inflateSync(chunk!.get('content') as Buffer).toString()).to.contain('ohello wörld ✓');
    if (h.dialect === 'sqlite') {
      const fromPython = await db.models.logchunks.findOne({ where: { logid: 2, first_line: 1 } });
      expect(inflateSync(fromPython!.get('content') as Buffer).toString()).to.equal('written by Python é');
    }
  });

  it('is a no-op the second time: up to date, no new backup', async function () {
    this.timeout(60_000);
    await makeBuildbotDatabase();
    const db = await h.connect();
    await upgradeDatabase(db);
    const backups = () => readdirSync(h.basedir()).filter((f) => f.includes('.bak-'));
    const first = backups();
    expect(await upgradeDatabase(db)).to.deep.equal({ applied: [], upToDate: true, adoptedBuildbot: false });
    expect(backups()).to.deep.equal(first);
  });
});
