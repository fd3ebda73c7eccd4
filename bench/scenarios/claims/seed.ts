/**
 * Databases for the claims benchmark: a fresh sqlite file or a throwaway MariaDB/MySQL database,
 * brought to the current schema and filled in bulk with N pending requests (one buildset each, all
 * on one source stamp, round robin over the builders), as a scheduler would have left them.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findOrCreateBuilder } from '../../../lib/db/builders.js';
import { addBuildset } from '../../../lib/db/buildsets.js';
import { openDatabase, type Database } from '../../../lib/db/connection.js';
import { upgradeDatabase } from '../../../lib/db/migrate.js';
import { insert, select } from '../../../lib/db/query.js';

export const DEFAULT_MYSQL_URL = 'mysql://bmtest:bmtestpw@127.0.0.1:3307/buildmaster';

/** The MariaDB/MySQL server the benchmark uses: BUILDMASTER_BENCH_DB_URL, else the tests' URL, else the dev server. */
export function benchMysqlUrl(): string {
  return process.env.BUILDMASTER_BENCH_DB_URL ?? process.env.BUILDMASTER_TEST_DB_URL ?? DEFAULT_MYSQL_URL;
}

export interface BenchDb {
  /** The URL masters use (sqlite: absolute file path). */
  url: string;
  drop(): Promise<void>;
}

/** A new empty database: `<dir>/state.sqlite`, or `bmbench_<random>` on the MySQL server. */
export async function createBenchDb(dialect: 'sqlite' | 'mysql', dir: string): Promise<BenchDb> {
  if (dialect === 'sqlite') return { url: `sqlite:///${join(dir, 'state.sqlite')}`, drop: async () => {} };
  const server = new URL(benchMysqlUrl());
  const name = `bmbench_${randomBytes(5).toString('hex')}`;
  const admin = () =>
    mysql.createConnection({ host: server.hostname, port: Number(server.port || 3306), user: decodeURIComponent(server.username), password: decodeURIComponent(server.password) });
  const c = await admin();
  await c.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await c.end();
  const u = new URL(server.toString());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = await admin();
      await d.query(`DROP DATABASE IF EXISTS ${name}`);
      await d.end();
    },
  };
}

export async function openBenchDb(url: string, basedir: string): Promise<Database> {
  return openDatabase({ url, basedir });
}

/** Migrates the database and adds `n` pending requests over the named builders; returns their builder ids. */
export async function seedPending(db: Database, builders: readonly string[], n: number): Promise<number[]> {
  await upgradeDatabase(db, { backup: false });
  const builderids: number[] = [];
  for (const b of builders) builderids.push(await findOrCreateBuilder(db, b));
  // One real buildset gives the source stamp every other one shares.
  const first = await addBuildset(db, { sourcestamps: [{ codebase: '' }], reason: 'bench', properties: {}, builderids: [builderids[0]!], submitted_at: 1_000_000 });
  const [ss] = await select<{ sourcestampid: number }>(db, 'SELECT sourcestampid FROM buildset_sourcestamps WHERE buildsetid = ?', [first.bsid]);
  const CHUNK = 1000;
  for (let done = 1; done < n; done += CHUNK) {
    const rows = Math.min(CHUNK, n - done);
    const ids = Array.from({ length: rows }, (_, i) => first.bsid + done + i);
    await db.transaction(async (t) => {
      await insert(db, `INSERT INTO buildsets (id, reason, submitted_at, complete, results) VALUES ${ids.map(() => "(?, 'bench', ?, 0, -1)").join(', ')}`, ids.flatMap((id) => [id, 1_000_000 + id]), t);
      await insert(db, `INSERT INTO buildset_sourcestamps (buildsetid, sourcestampid) VALUES ${ids.map(() => '(?, ?)').join(', ')}`, ids.flatMap((id) => [id, ss!.sourcestampid]), t);
      await insert(
        db,
        `INSERT INTO buildrequests (buildsetid, builderid, priority, complete, results, submitted_at, waited_for) VALUES ${ids.map(() => '(?, ?, 0, 0, -1, ?, 0)').join(', ')}`,
        ids.flatMap((id, i) => [id, builderids[(done + i) % builderids.length]!, 1_000_000 + id]),
        t,
      );
    });
  }
  return builderids;
}
