// The tables of Celery's SQLAlchemy result backend (celery/backends/database/models.py, Celery
// 5.7: `Task` + `TaskExtended` on celery_taskmeta, `TaskSet` on celery_tasksetmeta) and the DDL
// SQLAlchemy 2.0's `metadata.create_all` emits for them, which Celery runs on first use
// (session.py `SessionManager.prepare_models`). Pure: names, statements, no connection.
//
// What create_all emits (captured in test/fixtures/sqla/): on PostgreSQL a sequence per table
// (`task_id_sequence`, `taskset_id_sequence`) and an `id INTEGER NOT NULL` the INSERT fills with
// nextval; on MariaDB ≥ 10.3 the same with `NEXT VALUE FOR`; on MySQL `AUTO_INCREMENT`; on SQLite
// (no sequences) `id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT` (models.py `sqlite_autoincrement`),
// so an INSERT omits id. Plus `UNIQUE (task_id)` and the date_done index `ix_<table>_date_done`.
import { ConfigError } from '../../errors.js';
import type { SqlDialect } from '../sql/sql-client.js';

/** Celery's `database_table_names` / `database_table_schemas`: keys `task` and `group`. */
export interface SqlaTableSettings {
  tableNames?: { task?: string; group?: string };
  tableSchemas?: { task?: string; group?: string };
}

/** Which flavour of DDL the server gets: MariaDB has sequences, MySQL and SQLite auto-increment. */
export type SqlaServer = 'postgres' | 'mariadb' | 'mysql' | 'sqlite';

/** The SQL dialect of a server: MariaDB is spoken as MySQL. */
export function serverDialect(server: SqlaServer): SqlDialect {
  return server === 'mariadb' ? 'mysql' : server;
}

export interface SqlaTable {
  /** The schema (PostgreSQL), database (MySQL) or attached database (SQLite) from `database_table_schemas`, or null. */
  schema: string | null;
  name: string;
  /** models.py: `sa.Sequence('task_id_sequence')` / `'taskset_id_sequence'`, in the table's schema. */
  sequence: string;
}

export interface SqlaTables {
  task: SqlaTable;
  group: SqlaTable;
}

/** models.py `Task.configure` / `TaskSet.configure`, as DatabaseBackend.__init__ calls them. */
export function sqlaTables(settings: SqlaTableSettings = {}): SqlaTables {
  const table = (key: 'task' | 'group', name: string, sequence: string): SqlaTable => ({
    schema: checkName(settings.tableSchemas?.[key] ?? null, `database_table_schemas.${key}`),
    name: checkName(settings.tableNames?.[key] ?? name, `database_table_names.${key}`)!,
    sequence,
  });
  return { task: table('task', 'celery_taskmeta', 'task_id_sequence'), group: table('group', 'celery_tasksetmeta', 'taskset_id_sequence') };
}

// Identifiers are quoted in statements; this keeps them to names every server accepts unchanged.
function checkName(name: string | null, setting: string): string | null {
  if (name === null) return null;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new ConfigError(`${setting} must be a plain SQL name (letters, digits, _), got ${JSON.stringify(name)}`);
  return name;
}

/**
 * An identifier as SQLAlchemy writes it: lower-case names are the same quoted or not, and names
 * with capitals are quoted by SQLAlchemy too (case-sensitive on PostgreSQL).
 */
export function quoteName(dialect: SqlDialect, name: string): string {
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

export function qualified(dialect: SqlDialect, table: SqlaTable, name = table.name): string {
  return table.schema ? `${quoteName(dialect, table.schema)}.${quoteName(dialect, name)}` : quoteName(dialect, name);
}

/** The value of a new row's id: the sequence's next value, or null for AUTO_INCREMENT (omit id). */
export function nextIdExpression(server: SqlaServer, table: SqlaTable): string | null {
  if (server === 'postgres') {
    // nextval takes the (quoted, qualified) name as text.
    return `nextval('${qualified('postgres', table, table.sequence)}')`;
  }
  return server === 'mariadb' ? `NEXT VALUE FOR ${qualified('mysql', table, table.sequence)}` : null;
}

interface ColumnDef {
  name: string;
  /** [postgres, mysql] types, as SQLAlchemy 2.0 compiles them (SQLite's are MySQL's). */
  type: readonly [string, string];
}

const BYTES = ['BYTEA', 'BLOB'] as const;
const NAME = ['VARCHAR(155)', 'VARCHAR(155)'] as const;

/** models.py `Task` then `TaskExtended` columns after id, in create_all's order; all nullable. */
export const TASK_COLUMNS: readonly ColumnDef[] = [
  { name: 'task_id', type: NAME },
  { name: 'status', type: ['VARCHAR(50)', 'VARCHAR(50)'] },
  { name: 'result', type: BYTES },
  { name: 'date_done', type: ['TIMESTAMP WITHOUT TIME ZONE', 'DATETIME'] },
  { name: 'traceback', type: ['TEXT', 'TEXT'] },
  { name: 'children', type: BYTES },
  { name: 'name', type: NAME },
  { name: 'args', type: BYTES },
  { name: 'kwargs', type: BYTES },
  { name: 'worker', type: NAME },
  { name: 'retries', type: ['INTEGER', 'INTEGER'] },
  { name: 'queue', type: NAME },
  { name: 'stamps', type: BYTES },
];

/** models.py `TaskSet` columns after id. */
export const GROUP_COLUMNS: readonly ColumnDef[] = [
  { name: 'taskset_id', type: NAME },
  { name: 'result', type: BYTES },
  { name: 'date_done', type: ['TIMESTAMP WITHOUT TIME ZONE', 'DATETIME'] },
];

/**
 * The statements that create what is missing (each one idempotent, so two processes starting at
 * once both succeed): sequences, tables, date_done indexes.
 */
export function createStatements(server: SqlaServer, tables: SqlaTables): string[] {
  const dialect = serverDialect(server);
  const out: string[] = [];
  for (const [table, columns, key] of [
    [tables.task, TASK_COLUMNS, 'task_id'],
    [tables.group, GROUP_COLUMNS, 'taskset_id'],
  ] as const) {
    if (server === 'postgres' || server === 'mariadb') out.push(`CREATE SEQUENCE IF NOT EXISTS ${qualified(dialect, table, table.sequence)}`);
    const index = `ix_${table.name}_date_done`;
    const lines = [
      ...(server === 'sqlite' ? ['id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT'] : [`id INTEGER NOT NULL${server === 'mysql' ? ' AUTO_INCREMENT' : ''}`]),
      ...columns.map((c) => `${c.name} ${c.type[dialect === 'postgres' ? 0 : 1]}`),
      ...(server === 'sqlite' ? [] : ['PRIMARY KEY (id)']),
      `UNIQUE (${key})`,
    ];
    // MySQL has no CREATE INDEX IF NOT EXISTS: the index goes inside CREATE TABLE (same schema).
    if (dialect === 'mysql') lines.push(`INDEX ${quoteName(dialect, index)} (date_done)`);
    out.push(`CREATE TABLE IF NOT EXISTS ${qualified(dialect, table)} (\n\t${lines.join(',\n\t')}\n)`);
    // (On a table Celery ≤ 5.5 made, which had no date_done index, this adds one: harmless.)
    if (dialect === 'postgres') out.push(`CREATE INDEX IF NOT EXISTS ${quoteName(dialect, index)} ON ${qualified(dialect, table)} (date_done)`);
    // SQLite names the (attached) database on the index, never on its table.
    if (dialect === 'sqlite') out.push(`CREATE INDEX IF NOT EXISTS ${qualified(dialect, table, index)} ON ${quoteName(dialect, table.name)} (date_done)`);
  }
  return out;
}

/**
 * session.py `_migrate_missing_columns`: a table made by an older Celery lacks the nullable
 * columns added since (children, stamps…); each is added, as Celery 5.7 does on first use.
 */
export function addMissingColumns(server: SqlaServer, table: SqlaTable, columns: readonly ColumnDef[], existing: ReadonlySet<string>): string[] {
  const dialect = serverDialect(server);
  return columns
    .filter((c) => !existing.has(c.name))
    .map((c) => `ALTER TABLE ${qualified(dialect, table)} ADD COLUMN ${c.name} ${c.type[dialect === 'postgres' ? 0 : 1]}`);
}
