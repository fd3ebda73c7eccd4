import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { openDatabase, type Database } from '../../lib/db/connection.js';
import type { DialectName } from '../../lib/db/dialects.js';
import { upgradeDatabase } from '../../lib/db/migrate.js';
import { parseDbUrl, type MysqlTarget } from '../../lib/db/url.js';

/**
 * Runs DB tests on every dialect we have: sqlite always (a temp FILE per test, never :memory:,
 * because races need several connections), MariaDB/MySQL when BUILDMASTER_TEST_DB_URL is set
 * (a throwaway database `bmtest_<random>` per test, dropped afterwards). Without the variable the
 * MySQL variant is skipped, except under CI, where a missing server is a failure.
 */
export const TEST_MYSQL_URL = process.env.BUILDMASTER_TEST_DB_URL;

export interface DbHarness {
  readonly dialect: DialectName;
  /** This test's database URL (a fresh, empty database per test). */
  url(): string;
  /** This test's temporary directory (the master basedir; the sqlite file lives here). */
  basedir(): string;
  /** Opens this test's database and brings it to the current schema. */
  open(): Promise<Database>;
  /** Opens this test's database as it is, without migrating. */
  connect(url?: string): Promise<Database>;
  /** Another empty database for this test (e.g. a reference schema), cleaned up with the rest. */
  freshUrl(): Promise<string>;
}

function mysqlAdminTarget(): MysqlTarget {
  return parseDbUrl(TEST_MYSQL_URL!, '/') as MysqlTarget;
}

async function withMysqlAdmin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const t = mysqlAdminTarget();
  const conn = await mysql.createConnection({ host: t.host, port: t.port, user: t.user, password: t.password });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

function mysqlUrlFor(database: string): string {
  const u = new URL(TEST_MYSQL_URL!);
  u.pathname = `/${database}`;
  u.search = '';
  return u.toString();
}

class Harness implements DbHarness {
  private dir: string | undefined;
  private mainUrl: string | undefined;
  private readonly opened: Database[] = [];
  private readonly mysqlDatabases: string[] = [];
  private sqliteCount = 0;

  constructor(readonly dialect: DialectName) {}

  url(): string {
    if (!this.mainUrl) throw new Error('DbHarness.url() is only available inside a test');
    return this.mainUrl;
  }

  basedir(): string {
    if (!this.dir) throw new Error('DbHarness.basedir() is only available inside a test');
    return this.dir;
  }

  async connect(url = this.url()): Promise<Database> {
    const db = await openDatabase({ url, basedir: this.basedir() });
    this.opened.push(db);
    return db;
  }

  async open(): Promise<Database> {
    const db = await this.connect();
    await upgradeDatabase(db, { backup: false });
    return db;
  }

  async freshUrl(): Promise<string> {
    if (this.dialect === 'sqlite') {
      this.sqliteCount++;
      return `sqlite:///extra-${this.sqliteCount}.sqlite`;
    }
    const name = `bmtest_${randomBytes(6).toString('hex')}`;
    await withMysqlAdmin((c) => c.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`));
    this.mysqlDatabases.push(name);
    return mysqlUrlFor(name);
  }

  async setUp(): Promise<void> {
    this.dir = mkdtempSync(path.join(os.tmpdir(), `bmtest-${this.dialect}-`));
    this.mainUrl = this.dialect === 'sqlite' ? 'sqlite:///state.sqlite' : await this.freshUrl();
  }

  async tearDown(): Promise<void> {
    const closing = this.opened.splice(0).reverse().map((db) => db.close());
    await Promise.all(closing);
    const drops = this.mysqlDatabases.splice(0);
    if (drops.length > 0) {
      await withMysqlAdmin(async (c) => {
        for (const name of drops) await c.query(`DROP DATABASE IF EXISTS ${name}`);
      });
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.mainUrl = undefined;
    this.sqliteCount = 0;
  }
}

/** Declares `describe('<title> [sqlite]')` and, when a server is configured, `'<title> [mysql]'`. */
export function forEachDialect(title: string, body: (h: DbHarness) => void): void {
  for (const dialect of ['sqlite', 'mysql'] as const) {
    describe(`${title} [${dialect}]`, function () {
      const harness = new Harness(dialect);
      before(function () {
        if (dialect === 'mysql' && !TEST_MYSQL_URL) {
          if (process.env.CI === 'true') throw new Error('CI=true but BUILDMASTER_TEST_DB_URL is not set');
          this.skip();
        }
      });
      beforeEach(() => harness.setUp());
      afterEach(() => harness.tearDown());
      body(harness);
    });
  }
}
