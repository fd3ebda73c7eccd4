/**
 * A read-only view of a master's sqlite file, from outside the master, as bench.py reads Buildbot's:
 * logical size and row counts, and the completion of build requests (polled).
 */
import sqlite3 from 'sqlite3';

export interface DbSize {
  pageSize: number;
  pages: number;
  freePages: number;
  /** (page_count − freelist_count) × page_size: includes committed WAL content. */
  usedBytes: number;
  rows: Record<string, number>;
}

const COUNTED_TABLES = ['builds', 'buildrequests', 'buildsets', 'steps', 'logs', 'logchunks', 'build_properties', 'buildset_properties', 'sourcestamps'];

export class SqliteReader {
  private constructor(private readonly db: sqlite3.Database) {}

  static open(path: string): Promise<SqliteReader> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(new SqliteReader(db))));
      db.configure('busyTimeout', 30_000);
    });
  }

  all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  private async pragma(name: string): Promise<number> {
    const [row] = await this.all<Record<string, number>>(`PRAGMA ${name}`);
    return Object.values(row)[0];
  }

  async size(): Promise<DbSize> {
    const pageSize = await this.pragma('page_size');
    const pages = await this.pragma('page_count');
    const freePages = await this.pragma('freelist_count');
    const rows: Record<string, number> = {};
    for (const table of COUNTED_TABLES) {
      try {
        rows[table] = (await this.all<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0].n;
      } catch {
        /* table missing */
      }
    }
    return { pageSize, pages, freePages, usedBytes: (pages - freePages) * pageSize, rows };
  }

  /** Build requests with id ≥ minId that are complete. */
  completedRequests(minId: number): Promise<{ id: number }[]> {
    return this.all('SELECT id FROM buildrequests WHERE complete = 1 AND id >= ?', [minId]);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.db.close(() => resolve()));
  }
}
