// Celery's SQLAlchemy result backend (`result_backend = 'db+postgresql://…'`, `'db+mysql://…'`,
// `'db+sqlite:///…'`; celery/backends/database/__init__.py `DatabaseBackend`, Celery 5.7) on its
// own tables, created on first use as Celery creates them (see sqla-schema.ts); values encoded as
// sqla-codec.ts says. Waits poll every 0.5 s, like Celery's (`subpolling_interval`).
import { pendingMeta, type ResultTuple, type TaskMeta } from '../../protocol/result-meta.js';
import type { ResultBackend, WaitOptions } from '../result-backend.js';
import { resultExpiresSeconds } from '../result-expires.js';
import { answerWithin, PolledWaits } from '../sql/polled-waits.js';
import { createSqlClient, type SqlClient, type SqlRow } from '../sql/sql-client.js';
import { decodeGroupTuple, encodeValue, rowToMeta, type TaskRow, taskColumns, utcTimestamp } from './sqla-codec.js';
import {
  addMissingColumns,
  createStatements,
  GROUP_COLUMNS,
  nextIdExpression,
  qualified,
  type SqlaServer,
  type SqlaTable,
  type SqlaTableSettings,
  type SqlaTables,
  sqlaTables,
  TASK_COLUMNS,
} from './sqla-schema.js';

export interface SqlaBackendOptions extends SqlaTableSettings {
  /** How often a wait re-reads the row; Celery's DatabaseBackend.subpolling_interval is 0.5 s. */
  pollIntervalMs?: number;
  /** Seconds a result is kept before `cleanup()` deletes it (`result_expires`, default 1 day); 0 or null = forever. */
  resultExpires?: number | null;
}

/** What first use learned about the server: its DDL flavour and how a new row gets its id. */
interface Prepared {
  taskId: string | null;
  groupId: string | null;
}

export class SqlaBackend implements ResultBackend {
  private readonly sql: SqlClient;
  private readonly tables: SqlaTables;
  private readonly waits: PolledWaits;
  private readonly expiresMs: number;
  private prepared: Promise<Prepared> | null = null;

  /** `url` without its `db+` prefix: postgresql://…, mysql://…, mariadb://…, sqlite:///… (a `+driver` is ignored). */
  constructor(url: string, options: SqlaBackendOptions = {}) {
    this.tables = sqlaTables(options);
    this.sql = createSqlClient(url, { applicationName: 'ts-celery results', sqlite: true });
    this.waits = new PolledWaits((taskId) => this.getMeta(taskId), options.pollIntervalMs ?? 500);
    this.expiresMs = resultExpiresSeconds(options.resultExpires) * 1000;
  }

  /** Reach the database and create the tables if missing (Celery does both on first use). */
  async connect(timeoutMs = 5_000): Promise<void> {
    await answerWithin(this.sql, () => this.prepare(), timeoutMs);
  }

  /** session.py `prepare_models`, once per backend; a failed attempt is retried by the next call. */
  private prepare(): Promise<Prepared> {
    this.prepared ??= this.createTables().catch((error: unknown) => {
      this.prepared = null;
      throw error;
    });
    return this.prepared;
  }

  private async createTables(): Promise<Prepared> {
    const server = await this.server();
    for (const statement of createStatements(server, this.tables)) {
      // Celery retries create_all when a concurrent creator wins a race; IF NOT EXISTS can
      // still lose one on PostgreSQL (a duplicate pg_type row), so a second try settles it.
      await this.sql.execute(statement).catch(() => this.sql.execute(statement));
    }
    const taskColumns = await this.columns(this.tables.task);
    for (const statement of addMissingColumns(server, this.tables.task, TASK_COLUMNS, new Set(taskColumns.keys()))) await this.sql.execute(statement);
    const groupColumns = await this.columns(this.tables.group);
    for (const statement of addMissingColumns(server, this.tables.group, GROUP_COLUMNS, new Set(groupColumns.keys()))) await this.sql.execute(statement);
    // A table made elsewhere decides how ids are made: an AUTO_INCREMENT id (MySQL, or an older
    // SQLAlchemy on MariaDB) takes none, otherwise the sequence's next value.
    const idFor = (table: SqlaTable, columns: Map<string, string>) => (columns.get('id')?.toLowerCase().includes('auto_increment') ? null : nextIdExpression(server, table));
    return { taskId: idFor(this.tables.task, taskColumns), groupId: idFor(this.tables.group, groupColumns) };
  }

  private async server(): Promise<SqlaServer> {
    if (this.sql.dialect !== 'mysql') return this.sql.dialect;
    const [row] = await this.sql.query<{ v: string }>('SELECT VERSION() AS v');
    // SQLAlchemy's mysql dialect: `supports_sequences = is_mariadb and server_version_info >= (10, 3)`.
    const mariadb = /mariadb/i.exec(row?.v ?? '') && /^(\d+)\.(\d+)/.exec(row!.v);
    return mariadb && (Number(mariadb[1]) > 10 || (Number(mariadb[1]) === 10 && Number(mariadb[2]) >= 3)) ? 'mariadb' : 'mysql';
  }

  /** Column name → extra (MySQL's `auto_increment` marker; empty on PostgreSQL and SQLite). */
  private async columns(table: SqlaTable): Promise<Map<string, string>> {
    if (this.sql.dialect === 'sqlite') {
      const rows = await this.sql.query<{ name: string }>(`SELECT name FROM pragma_table_info(?${table.schema === null ? '' : ', ?'})`, table.schema === null ? [table.name] : [table.name, table.schema]);
      return new Map(rows.map((r) => [r.name, '']));
    }
    const schema = table.schema === null ? (this.sql.dialect === 'postgres' ? 'current_schema()' : 'DATABASE()') : '?';
    const extra = this.sql.dialect === 'postgres' ? "''" : 'extra';
    const rows = await this.sql.query<{ name: string; extra: string }>(
      `SELECT column_name AS name, ${extra} AS extra FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = ?`,
      table.schema === null ? [table.name] : [table.schema, table.name],
    );
    return new Map(rows.map((r) => [r.name, r.extra ?? '']));
  }

  private get taskTable(): string {
    return qualified(this.sql.dialect, this.tables.task);
  }

  private get groupTable(): string {
    return qualified(this.sql.dialect, this.tables.group);
  }

  /**
   * __init__.py `_store_result`: a plain read first, then an UPDATE of the existing row or an
   * INSERT of a new one — never a locking read of a missing row, which on MySQL/MariaDB takes a
   * gap lock that deadlocks concurrent inserts. A stored SUCCESS is kept (returns false), as
   * Celery 5.7 keeps it; a concurrent INSERT of the same task falls back to the UPDATE.
   */
  async storeResult(meta: TaskMeta): Promise<boolean> {
    const prepared = await this.prepare();
    const columns = Object.entries(taskColumns(meta)).filter(([, v]) => v !== undefined);
    const [existing] = await this.sql.query<{ status: string | null }>(`SELECT status FROM ${this.taskTable} WHERE task_id = ?`, [meta.task_id]);
    if (existing?.status === 'SUCCESS') return false;
    if (!existing) {
      const names = ['task_id', ...columns.map(([c]) => c)];
      const values = ['?', ...columns.map(() => '?')];
      if (prepared.taskId) {
        names.unshift('id');
        values.unshift(prepared.taskId);
      }
      try {
        await this.sql.execute(`INSERT INTO ${this.taskTable} (${names.join(', ')}) VALUES (${values.join(', ')})`, [meta.task_id, ...columns.map(([, v]) => v)]);
        return true;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    }
    // The row exists: its unique-index entry is locked alone (no gap), and SUCCESS still wins.
    const changed = await this.sql.execute(
      `UPDATE ${this.taskTable} SET ${columns.map(([c]) => `${c} = ?`).join(', ')} WHERE task_id = ? AND (status IS NULL OR status <> 'SUCCESS')`,
      [...columns.map(([, v]) => v), meta.task_id],
    );
    return changed > 0;
  }

  async getMeta(taskId: string): Promise<TaskMeta> {
    await this.prepare();
    // date_done as text: a naive UTC DATETIME must not be read in the process' time zone.
    const dateText = this.sql.dialect === 'mysql' ? 'CAST(date_done AS CHAR)' : 'CAST(date_done AS TEXT)';
    const rows = await this.sql.query<TaskRow & SqlRow>(
      `SELECT task_id, status, result, ${dateText} AS date_done, traceback, children, name, args, kwargs, worker, retries, queue, stamps FROM ${this.taskTable} WHERE task_id = ?`,
      [taskId],
    );
    return rows[0] ? rowToMeta(rows[0], this.tables.task.name) : pendingMeta(taskId);
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return this.waits.wait(taskId, options);
  }

  /** `_forget`: the row is deleted. */
  async forget(taskId: string): Promise<void> {
    await this.prepare();
    await this.sql.execute(`DELETE FROM ${this.taskTable} WHERE task_id = ?`, [taskId]);
  }

  /** `_save_group`: a new celery_tasksetmeta row holding the encoded tuple; date_done is now. */
  async saveGroup(groupId: string, result: ResultTuple): Promise<void> {
    const prepared = await this.prepare();
    const id = prepared.groupId ? ['id, ', `${prepared.groupId}, `] : ['', ''];
    await this.sql.execute(`INSERT INTO ${this.groupTable} (${id[0]}taskset_id, result, date_done) VALUES (${id[1]}?, ?, ?)`, [
      groupId,
      encodeValue(result),
      utcTimestamp(new Date()),
    ]);
  }

  async restoreGroup(groupId: string): Promise<ResultTuple | null> {
    await this.prepare();
    const [row] = await this.sql.query<{ result: Buffer | null }>(`SELECT result FROM ${this.groupTable} WHERE taskset_id = ?`, [groupId]);
    return row ? decodeGroupTuple(row.result, `${this.tables.group.name}(taskset_id=${groupId}).result`) : null;
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.prepare();
    await this.sql.execute(`DELETE FROM ${this.groupTable} WHERE taskset_id = ?`, [groupId]);
  }

  /** __init__.py `_cleanup`: the task and group rows whose date_done is older than result_expires. */
  async cleanup(): Promise<void> {
    if (!this.expiresMs) return;
    await this.prepare();
    const before = utcTimestamp(new Date(Date.now() - this.expiresMs));
    await this.sql.execute(`DELETE FROM ${this.taskTable} WHERE date_done < ?`, [before]);
    await this.sql.execute(`DELETE FROM ${this.groupTable} WHERE date_done < ?`, [before]);
  }

  async close(): Promise<void> {
    this.waits.failAll(new Error(`result backend db+ (${this.sql.where}) is closed`));
    await this.sql.close();
  }
}

/** A unique-key violation: PostgreSQL 23505, MySQL/MariaDB ER_DUP_ENTRY, SQLite's constraint code. */
function isDuplicateKey(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
