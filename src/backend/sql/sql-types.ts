// The shapes every SQL client shares (sql-client.ts for PostgreSQL/MySQL, sqlite-client.ts),
// apart from the code, so the driver modules and the loader depend on types only.

export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

export type SqlRow = Record<string, unknown>;

/** Statements are written with `?` placeholders; the postgres client numbers them ($1, $2…). */
export interface SqlQueryable {
  query<T extends SqlRow = SqlRow>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Rows changed by an INSERT / UPDATE / DELETE. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** One connection of its own (session-level locks live and die with it). */
export interface SqlSession extends SqlQueryable {
  /** False once the server closed it or it failed: its session locks are gone. */
  readonly alive: boolean;
  close(): Promise<void>;
}

export interface SqlClient extends SqlQueryable {
  readonly dialect: SqlDialect;
  /** The database name from the URL (a MariaDB lock name carries it: GET_LOCK is server-wide). */
  readonly database: string;
  /** The URL with its password masked, for log lines. */
  readonly where: string;
  /** A dedicated connection, outside the pool. */
  session(): Promise<SqlSession>;
  /** Run `fn` in one transaction on one pooled connection (committed unless it throws). */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** What one driver (pg, mysql2, better-sqlite3) provides behind a SqlClient. */
export interface DriverClient {
  query<T extends SqlRow>(sql: string, params: readonly unknown[]): Promise<T[]>;
  execute(sql: string, params: readonly unknown[]): Promise<number>;
  session(): Promise<SqlSession>;
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
