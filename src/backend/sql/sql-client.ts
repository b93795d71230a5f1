// One small SQL client over the two drivers Django shops use from Node: `pg` for PostgreSQL and
// `mysql2` for MySQL/MariaDB, plus `better-sqlite3` for the db+sqlite:// result backend
// (sqlite-client.ts). Each is an optional peer dependency loaded by dynamic import only on first
// use of a database URL, so a Redis-only app never loads (or installs) any.
// URLs are the ones Django and SQLAlchemy users already write: `postgresql://`, `postgres://`,
// `postgresql+psycopg://`, `mysql://`, `mysql+pymysql://`, `mariadb://` (a `+driver` suffix names
// the Python driver and is ignored here; dj-database-url and SQLAlchemy spell it that way).
import { ConfigError, TransportError } from '../../errors.js';
import { maskUrl, urlScheme } from '../../url-mask.js';
import { loadDriver } from './load-driver.js';
import { sqliteClient, sqliteFile } from './sqlite-client.js';
import type { DriverClient, SqlClient, SqlDialect, SqlQueryable, SqlRow, SqlSession } from './sql-types.js';

export type { DriverClient, SqlClient, SqlDialect, SqlQueryable, SqlRow, SqlSession } from './sql-types.js';

const SCHEMES: Record<string, SqlDialect> = { postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mysql', sqlite: 'sqlite' };

/** The dialect of a database URL, or null when the URL names no SQL database we speak. */
export function sqlDialect(url: string): SqlDialect | null {
  const scheme = urlScheme(url);
  return scheme ? (SCHEMES[scheme.split('+')[0]!] ?? null) : null;
}

/** The URL as the Node driver takes it: `+driver` dropped, `mariadb:` spelled `mysql:`. */
export function driverUrl(url: string): { dialect: Exclude<SqlDialect, 'sqlite'>; url: string; database: string } {
  const dialect = sqlDialect(url);
  if (!dialect || dialect === 'sqlite') throw new ConfigError(`database URL ${maskUrl(url)}: expected postgresql://, postgres:// or mysql:// (mariadb://), optionally with a +driver suffix`);
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const normalized = `${dialect === 'postgres' ? 'postgresql' : 'mysql'}://${rest}`;
  let database: string;
  try {
    database = decodeURIComponent(new URL(normalized).pathname.replace(/^\//, ''));
  } catch {
    throw new ConfigError(`database URL ${maskUrl(url)} is not a valid URL`);
  }
  if (!database) throw new ConfigError(`database URL ${maskUrl(url)} names no database (…/<database>)`);
  return { dialect, url: normalized, database };
}

/** `?` placeholders as postgres' `$1, $2…` (our statements hold no `?` inside literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * A client for a database URL; the driver is imported (and a SQLite file opened) on first use.
 * `sqlite`: whether a sqlite:// URL is taken (only the db+ result backend speaks SQLite).
 */
export function createSqlClient(url: string, options: { applicationName?: string; sqlite?: boolean } = {}): SqlClient {
  const where = maskUrl(url);
  let open: () => Promise<DriverClient>;
  let dialect: SqlDialect;
  let database: string;
  if (options.sqlite && sqlDialect(url) === 'sqlite') {
    const file = sqliteFile(url);
    [dialect, database, open] = ['sqlite', file.path, () => sqliteClient(file)];
  } else {
    const driver = driverUrl(url);
    [dialect, database] = [driver.dialect, driver.database];
    open = () => (driver.dialect === 'postgres' ? postgresClient(driver.url, options.applicationName) : mysqlClient(driver.url));
  }
  let inner: Promise<DriverClient> | null = null;
  const opened = () =>
    (inner ??= open().catch((error: unknown) => {
      throw wrap(error, where);
    }));
  const run = async <T>(fn: (c: DriverClient) => Promise<T>): Promise<T> => {
    const client = await opened();
    try {
      return await fn(client);
    } catch (error) {
      throw wrap(error, where);
    }
  };
  return {
    dialect,
    database,
    where,
    query: (sql, params = []) => run((c) => c.query(sql, params)),
    execute: (sql, params = []) => run((c) => c.execute(sql, params)),
    session: () => run((c) => c.session()),
    transaction: (fn) => run((c) => c.transaction(fn)),
    async close() {
      const client = await inner?.catch(() => null);
      await client?.close();
    },
  } as SqlClient;
}

function wrap(error: unknown, where: string): Error {
  if (error instanceof ConfigError || error instanceof TransportError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  // Connection failures are the transport's kind of error; SQL errors keep their own type.
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'PROTOCOL_CONNECTION_LOST') {
    return new TransportError(`database ${where}: ${(error as Error).message}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** A connection of its own as a session: not alive once the driver reports it failed or ended. */
function ownSession(queryable: SqlQueryable, connection: { on(event: 'error' | 'end', listener: () => void): unknown }, end: () => Promise<unknown>): SqlSession {
  let alive = true;
  const dead = () => {
    alive = false;
  };
  connection.on('error', dead);
  connection.on('end', dead);
  return {
    ...queryable,
    get alive() {
      return alive;
    },
    async close() {
      alive = false;
      await end().catch(() => {});
    },
  };
}

type Pg = typeof import('pg');

async function postgresClient(url: string, applicationName = 'ts-celery'): Promise<DriverClient> {
  const mod = await loadDriver<Pg & { default?: Pg }>('pg', 'postgres');
  const pg = (mod.default ?? mod) as Pg;
  const config = { connectionString: url, application_name: applicationName };
  const pool = new pg.Pool({ ...config, max: 4, idleTimeoutMillis: 10_000 });
  // An idle client's error (server restart) is reported through the next query instead.
  pool.on('error', () => {});
  const on = (q: { query: import('pg').Pool['query'] }): SqlQueryable => ({
    async query<T extends SqlRow>(sql: string, params: readonly unknown[] = []) {
      return (await q.query(numberPlaceholders(sql), [...params])).rows as T[];
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      return (await q.query(numberPlaceholders(sql), [...params])).rowCount ?? 0;
    },
  });
  const pooled = on(pool);
  return {
    query: pooled.query,
    execute: pooled.execute,
    async session() {
      const client = new pg.Client(config);
      const session = ownSession(on(client as unknown as { query: import('pg').Pool['query'] }), client, () => client.end());
      await client.connect();
      return session;
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(on(client as unknown as { query: import('pg').Pool['query'] }));
        await client.query('COMMIT');
        return out;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

type Mysql = typeof import('mysql2/promise');

async function mysqlClient(url: string): Promise<DriverClient> {
  const mod = await loadDriver<Mysql & { default?: Mysql }>('mysql2/promise', 'mysql');
  const mysql = (mod.default ?? mod) as Mysql;
  // Django stores aware datetimes as UTC in DATETIME columns (USE_TZ = True): read and write UTC.
  const config = { uri: url, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: false };
  const pool = mysql.createPool({ ...config, connectionLimit: 4, idleTimeout: 10_000 });
  type Q = { query: (sql: string, params: unknown[]) => Promise<[unknown, unknown]> };
  const on = (q: Q): SqlQueryable => ({
    async query<T extends SqlRow>(sql: string, params: readonly unknown[] = []) {
      const [rows] = await q.query(sql, [...params]);
      return rows as T[];
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      const [result] = await q.query(sql, [...params]);
      return (result as { affectedRows?: number }).affectedRows ?? 0;
    },
  });
  const pooled = on(pool as unknown as Q);
  return {
    query: pooled.query,
    execute: pooled.execute,
    async session() {
      const connection = await mysql.createConnection(config);
      return ownSession(on(connection as unknown as Q), connection, () => connection.end());
    },
    async transaction(fn) {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        const out = await fn(on(connection as unknown as Q));
        await connection.commit();
        return out;
      } catch (error) {
        await connection.rollback().catch(() => {});
        throw error;
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}
