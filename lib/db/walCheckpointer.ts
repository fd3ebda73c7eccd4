import sqlite3 from 'sqlite3';
import type { Database } from './connection.js';

/**
 * A connection of its own that checkpoints sqlite's write-ahead log while the janitor works. A big
 * delete fills the WAL, and sqlite checkpoints it (copying pages and syncing the file) inside the
 * COMMIT that takes it past 1000 pages — under the write lock, so every claim would wait for that
 * sync. Checkpointing PASSIVE from here, between batches, needs no write lock and keeps the WAL
 * short, so commits seldom have one to do. Nothing on MySQL.
 */
export class WalCheckpointer {
  private constructor(private readonly conn: sqlite3.Database) {}

  static async open(db: Database): Promise<WalCheckpointer | undefined> {
    if (!db.sqlitePath || !db.caps.fileBackup) return undefined;
    const conn = await new Promise<sqlite3.Database>((resolve, reject) => {
      const c: sqlite3.Database = new sqlite3.Database(db.sqlitePath!, sqlite3.OPEN_READWRITE, (err) => (err ? reject(err) : resolve(c)));
    });
    return new WalCheckpointer(conn);
  }

  /** PASSIVE: copies what it can without waiting for anyone; errors (a busy file) are ignored. */
  checkpoint(): Promise<void> {
    return new Promise((resolve) => this.conn.exec('PRAGMA wal_checkpoint(PASSIVE)', () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.conn.close(() => resolve()));
  }
}
