/**
 * How lib/db/query.ts runs statements on sqlite (node-sqlite3). On the Database's own connections
 * (ownConnection) statements are kept prepared and reused, and run one at a time per connection in
 * a queue of ours; on any other connection (Sequelize's transaction connections) each call
 * prepares a fresh statement in node-sqlite3's serialize() mode, as Sequelize does.
 */
import type sqlite3 from 'sqlite3';

type Params = readonly unknown[];
type WriteResult = { insertId: number; affectedRows: number };

/** node-sqlite3 binds flat values only: expand array values into `?, ?, …` ourselves. */
function expandArrays(sql: string, params: Params): [string, unknown[]] {
  if (!params.some(Array.isArray)) return [sql, params as unknown[]];
  const flat: unknown[] = [];
  let i = 0;
  const text = sql.replace(/\?/g, () => {
    const p = params[i++];
    if (!Array.isArray(p)) {
      flat.push(p);
      return '?';
    }
    flat.push(...p);
    return p.map(() => '?').join(', ');
  });
  return [text, flat];
}

/** Attaches the statement to a driver's error, for messages. */
export function withSql(err: unknown, sql: string): unknown {
  if (err && typeof err === 'object' && !('sql' in err)) (err as { sql?: string }).sql = sql;
  return err;
}

/**
 * Prepared statements, kept per sqlite connection and reused: preparing a statement (and making
 * its JS object) for every call cost more than running most of ours. Bounded (least recently
 * used go, finalized once no call is using them); finalizeStatements() before a connection closes.
 * Only on the Database's own connections (ownConnection): Sequelize closes its transaction
 * connections itself, which sqlite refuses while statements are prepared on them.
 */
const STATEMENT_CACHE_SIZE = 256;

interface CachedStatement {
  stmt: Promise<sqlite3.Statement>;
  uses: number;
  evicted: boolean;
}

interface ConnectionState {
  statements: Map<string, CachedStatement>;
  /** One statement at a time per connection (see the sqlite driver). */
  queue: Promise<unknown>;
}

const connections = new WeakMap<sqlite3.Database, ConnectionState>();
const owned = new WeakSet<sqlite3.Database>();

/** Marks a sqlite connection as the Database's own: its statements are kept prepared. */
export function ownConnection(conn: unknown): void {
  owned.add(conn as sqlite3.Database);
}

function stateOf(conn: sqlite3.Database): ConnectionState {
  let s = connections.get(conn);
  if (!s) connections.set(conn, (s = { statements: new Map(), queue: Promise.resolve() }));
  return s;
}

function finalize(entry: CachedStatement): Promise<void> {
  return entry.stmt.then(
    (st) => new Promise<void>((resolve) => st.finalize(() => resolve())),
    () => undefined,
  );
}

function statementFor(conn: sqlite3.Database, state: ConnectionState, sql: string): CachedStatement {
  const cache = state.statements;
  let entry = cache.get(sql);
  if (entry) {
    cache.delete(sql); // most recently used last
    cache.set(sql, entry);
    return entry;
  }
  const stmt = new Promise<sqlite3.Statement>((resolve, reject) => {
    const st: sqlite3.Statement = conn.prepare(sql, (err) => (err ? reject(err) : resolve(st)));
  });
  const created: CachedStatement = { stmt, uses: 0, evicted: false };
  entry = created;
  cache.set(sql, created);
  stmt.catch(() => {
    // A statement that does not prepare (a syntax error) is not kept.
    if (cache.get(sql) === created) cache.delete(sql);
  });
  if (cache.size > STATEMENT_CACHE_SIZE) {
    const [oldSql, old] = cache.entries().next().value as [string, CachedStatement];
    cache.delete(oldSql);
    old.evicted = true;
    if (old.uses === 0) void finalize(old);
  }
  return created;
}

/**
 * Runs `fn` with the prepared statement for `sql` on `conn`, after the statements queued before it
 * on that connection: one at a time, as Sequelize runs them. Were several in flight, each would
 * hold a libuv thread while waiting for the connection (or out a lock), and a few such waits
 * starve the lock holder of a thread to COMMIT on (environment.md, "in-process trap").
 *
 * A statement that fails is reset before the next one runs. A write that gets SQLITE_BUSY waiting
 * for the write lock is not ended by sqlite but left resumable, still counted as an active writer:
 * until it is reset, no autocommit write after it on this connection commits (each reports success
 * and stays in an open transaction), and resetting it later — its retry — rolls them all back.
 * node-sqlite3 resets a statement only when it next runs (and a cached one may never run again).
 */
function onStatement<T>(conn: sqlite3.Database, sql: string, fn: (st: sqlite3.Statement, done: (err: Error | null, v?: T) => void) => void): Promise<T> {
  const state = stateOf(conn);
  const entry = statementFor(conn, state, sql);
  entry.uses++;
  const result = state.queue.then(
    () =>
      entry.stmt.then(
        (st) =>
          new Promise<T>((resolve, reject) =>
            fn(st, (err, v) => {
              if (!err) return resolve(v as T);
              st.reset(() => reject(withSql(err, sql)));
            }),
          ),
        (err: unknown) => Promise.reject(withSql(err, sql)),
      ),
  );
  state.queue = result.catch(() => undefined);
  return result.finally(() => {
    entry.uses--;
    if (entry.evicted && entry.uses === 0) void finalize(entry);
  });
}

/** Runs statements without parameters or results (BEGIN, COMMIT…) on a sqlite connection, in its queue. */
export function sqliteExec(conn: unknown, sql: string): Promise<void> {
  const db = conn as sqlite3.Database;
  const state = stateOf(db);
  const result = state.queue.then(() => new Promise<void>((resolve, reject) => db.exec(sql, (err) => (err ? reject(withSql(err, sql)) : resolve()))));
  state.queue = result.catch(() => undefined);
  return result;
}

/** Finalizes the statements prepared on `conn` (sqlite refuses to close a connection that has some). */
export async function finalizeStatements(conn: unknown): Promise<void> {
  const state = connections.get(conn as sqlite3.Database);
  if (!state) return;
  connections.delete(conn as sqlite3.Database);
  await state.queue;
  await Promise.all([...state.statements.values()].map(finalize));
}

/** On a connection that is not ours: a fresh statement per call, serialize()d as Sequelize runs them. */
const unowned = {
  all: (conn: unknown, sql: string, params: Params): Promise<unknown[]> => {
    const [text, flat] = expandArrays(sql, params);
    const db = conn as sqlite3.Database;
    return new Promise((resolve, reject) =>
      db.serialize(() => db.all(text, flat, (err, rows) => (err ? reject(withSql(err, text)) : resolve(rows)))),
    );
  },
  run: (conn: unknown, sql: string, params: Params): Promise<WriteResult> => {
    const [text, flat] = expandArrays(sql, params);
    const db = conn as sqlite3.Database;
    return new Promise((resolve, reject) =>
      db.serialize(() =>
        db.run(text, flat, function (this: sqlite3.RunResult, err: Error | null) {
          if (err) reject(withSql(err, text));
          else resolve({ insertId: this.lastID, affectedRows: this.changes });
        }),
      ),
    );
  },
};

/** The sqlite driver of lib/db/query.ts: rows of a statement, or what a write did. */
export const sqliteDriver = {
  all(conn: unknown, sql: string, params: Params): Promise<unknown[]> {
    if (!owned.has(conn as sqlite3.Database)) return unowned.all(conn, sql, params);
    const [text, flat] = expandArrays(sql, params);
    return onStatement<unknown[]>(conn as sqlite3.Database, text, (st, done) => st.all(flat, (err: Error | null, rows: unknown[]) => done(err, rows)));
  },
  run(conn: unknown, sql: string, params: Params): Promise<WriteResult> {
    if (!owned.has(conn as sqlite3.Database)) return unowned.run(conn, sql, params);
    const [text, flat] = expandArrays(sql, params);
    return onStatement<WriteResult>(conn as sqlite3.Database, text, (st, done) =>
      st.run(flat, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) done(err);
        else done(null, { insertId: this.lastID, affectedRows: this.changes });
      }),
    );
  },
};
