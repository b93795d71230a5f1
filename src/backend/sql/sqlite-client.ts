// SQLite behind the SqlClient interface, through `better-sqlite3` (an optional peer dependency,
// imported only when a `sqlite://` URL is configured). URLs follow SQLAlchemy's rules
// (sqlalchemy/dialects/sqlite/pysqlite.py): `sqlite:///relative.db` is relative to the working
// directory, `sqlite:////abs/path.db` is absolute; `sqlite://` and `sqlite:///:memory:` are an
// in-memory database, which no other process can see, so they are refused here.
//
// better-sqlite3 is synchronous. A Python worker on the same file holds SQLite's file lock while
// it writes; pysqlite waits for it up to `timeout` (5 s by default) inside sqlite3_busy_timeout.
// We wait as long, but off the event loop's thread: SQLite's own busy wait is kept short
// (BLOCKING_BUSY_MS) and a statement answered SQLITE_BUSY is retried after a timer, so a worker
// keeps heartbeating while Python holds the lock. Statements run in autocommit (each is its own
// transaction, so a retried one never half-applied). The journal mode is left as the file has it:
// Celery / SQLAlchemy never switch it (the default rollback journal), and WAL would change the
// file for every other user of it.
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { ConfigError } from '../../errors.js';
import type { DriverClient, SqlQueryable, SqlRow } from './sql-types.js';
import { loadDriver } from './load-driver.js';

/** pysqlite's default `timeout`: how long a statement waits for another process' lock. */
const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** How long SQLite itself may block the event loop on a lock before we wait on a timer instead. */
const BLOCKING_BUSY_MS = 20;

export interface SqliteFile {
  /** The file as SQLite opens it (relative to the working directory unless absolute). */
  path: string;
  /** pysqlite's `timeout` from the URL's query (`?timeout=<seconds>`), in ms. */
  busyTimeoutMs: number;
}

/** The file of a `sqlite://` URL (`+driver` ignored), as SQLAlchemy reads it. */
export function sqliteFile(url: string): SqliteFile {
  const match = /^sqlite(?:\+[a-z0-9_]+)?:\/\/([^?]*)(?:\?(.*))?$/i.exec(url);
  if (!match) throw new ConfigError(`database URL ${url}: expected sqlite:///relative/path.db or sqlite:////absolute/path.db`);
  const [, rest = '', query] = match;
  // SQLAlchemy: everything after `sqlite:///` is the file name, so a fourth slash makes it absolute.
  const path = rest.startsWith('/') ? decodeURIComponent(rest.slice(1)) : '';
  if (rest !== '' && !rest.startsWith('/')) throw new ConfigError(`database URL ${url}: SQLite URLs have no host (sqlite:///relative.db, sqlite:////absolute.db)`);
  if (path === '' || path === ':memory:') {
    throw new ConfigError(`database URL ${url} is an in-memory SQLite database, which other processes cannot see; name a file: sqlite:///relative.db or sqlite:////absolute/path.db`);
  }
  let busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS;
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    const seconds = Number(value);
    if (key !== 'timeout') throw new ConfigError(`database URL ${url}: query parameter '${key}' is not supported for SQLite (only timeout=<seconds>)`);
    if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new ConfigError(`database URL ${url}: timeout must be a number of seconds, got ${JSON.stringify(value)}`);
    busyTimeoutMs = Math.round(seconds * 1000);
  }
  return { path, busyTimeoutMs };
}

/** SQLITE_BUSY and its extended codes: another connection holds the lock. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

export async function sqliteClient(file: SqliteFile): Promise<DriverClient> {
  const mod = await loadDriver<typeof Database & { default?: typeof Database }>('better-sqlite3', 'sqlite');
  const Sqlite = mod.default ?? mod;
  let db: Database.Database;
  try {
    // Created when missing, as pysqlite's connect creates it.
    db = new Sqlite(file.path, { timeout: Math.min(BLOCKING_BUSY_MS, file.busyTimeoutMs) });
  } catch (cause) {
    throw new ConfigError(`SQLite database ${file.path} cannot be opened: ${(cause as Error).message}`, { cause });
  }
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  /** Run one statement, waiting on a timer while another process holds the lock. */
  const run = async <T>(step: () => T): Promise<T> => {
    const deadline = Date.now() + file.busyTimeoutMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      try {
        return step();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error;
      }
      await sleep(pause);
    }
  };
  const on: SqlQueryable = {
    query<T extends SqlRow>(sql: string, params: readonly unknown[] = []) {
      return run(() => {
        const statement = prepare(sql);
        return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
      });
    },
    execute(sql: string, params: readonly unknown[] = []) {
      return run(() => prepare(sql).run(...params).changes);
    },
  };
  // Sessions (advisory locks) and multi-statement transactions serve the django-db backend and
  // beat's leader lock, which take no SQLite URL; the db+ backend writes one statement at a time.
  const unsupported = () => Promise.reject(new ConfigError('a sqlite:// database serves the db+ result backend only (no session locks, no transactions)'));
  return {
    ...on,
    session: unsupported,
    transaction: unsupported,
    async close() {
      db.close();
    },
  };
}
