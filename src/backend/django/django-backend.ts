// django-celery-results' result backend (`result_backend = 'django-db'`) on the Django
// database named by `database_url`: one row per task in django_celery_results_taskresult,
// one per saved group in django_celery_results_groupresult (chord counters: chord-counter.ts),
// written as django_celery_results/backends/database.py `DatabaseBackend._store_result` and
// managers.py `TaskResultManager.store_result` do (get_or_create, then every field saved), read as
// `DatabaseBackend._get_task_meta_for` reads it. Waits poll, like Celery's BaseDictBackend
// (`subpolling_interval` 0.5 s): the table publishes nothing.
import { DecodeError } from '../../errors.js';
import { jsonDecode } from '../../protocol/codecs/json.js';
import { formatDateDone } from '../../protocol/iso-time.js';
import { pendingMeta, type ResultTuple, type TaskMeta } from '../../protocol/result-meta.js';
import { encodeStored } from '../meta-codec.js';
import type { ResultBackend, WaitOptions } from '../result-backend.js';
import { resultExpiresSeconds } from '../result-expires.js';
import { answerWithin, PolledWaits } from '../sql/polled-waits.js';
import { DjangoChordCounter } from './chord-counter.js';
import { createSqlClient, type SqlClient, type SqlRow } from '../sql/sql-client.js';

const TABLE = 'django_celery_results_taskresult';
const GROUP_TABLE = 'django_celery_results_groupresult';
/** managers.py `delete_expired(batch_size=100000)`. */
const CLEANUP_BATCH = 100_000;

export interface DjangoBackendOptions {
  /** How often a wait re-reads the row; Celery's DatabaseBackend.subpolling_interval is 0.5 s. */
  pollIntervalMs?: number;
  /** Seconds a result is kept before `cleanup()` deletes it (`result_expires`, default 1 day); 0 or null = forever. */
  resultExpires?: number | null;
}

interface GroupRow extends SqlRow {
  group_id: string;
  content_type: string;
  content_encoding: string;
  result: string | null;
}

interface TaskRow extends SqlRow {
  task_id: string;
  status: string;
  content_type: string;
  content_encoding: string;
  result: string | null;
  date_done: Date | string | null;
  traceback: string | null;
  meta: string | null;
  task_name: string | null;
  task_args: string | null;
  task_kwargs: string | null;
  worker: string | null;
}

export class DjangoBackend implements ResultBackend {
  private readonly sql: SqlClient;
  private readonly waits: PolledWaits;
  private readonly expiresMs: number;

  constructor(databaseUrl: string, options: DjangoBackendOptions = {}) {
    this.sql = createSqlClient(databaseUrl, { applicationName: 'ts-celery results' });
    this.waits = new PolledWaits((taskId) => this.getMeta(taskId), options.pollIntervalMs ?? 500);
    this.expiresMs = resultExpiresSeconds(options.resultExpires) * 1000;
  }

  async connect(timeoutMs = 5_000): Promise<void> {
    await answerWithin(this.sql, () => this.sql.query(`SELECT 1 FROM ${TABLE} WHERE 1 = 0`), timeoutMs);
  }

  /**
   * Upsert the task's row. Like django-celery-results (and unlike the key/value backends), a later
   * state replaces a stored SUCCESS: DatabaseBackend overrides `_store_result` without that check.
   */
  async storeResult(meta: TaskMeta): Promise<boolean> {
    const key = `${TABLE}(task_id=${meta.task_id})`;
    const result = encodeStored(meta.result, key);
    // database.py `_store_result`: meta = {**request.meta, "children": current_task_children(request)}.
    const encodedMeta = encodeStored({ children: meta.children ?? [] }, key);
    const extended = meta.name != null;
    const now = new Date();
    const fields: [string, unknown][] = [
      ['status', meta.status],
      ['result', result],
      ['traceback', meta.traceback ?? null],
      ['meta', encodedMeta],
      ['content_encoding', 'utf-8'],
      ['content_type', 'application/json'],
      ['periodic_task_name', extended ? ((meta.periodic_task_name as string | undefined) ?? null) : null],
      ['task_name', extended ? meta.name : null],
      // `_get_extended_properties` encodes the request's argsrepr/kwargsrepr; we store the
      // arguments themselves as JSON (Python's reader decodes either).
      ['task_args', extended && meta.args != null ? encodeStored(meta.args, key) : null],
      ['task_kwargs', extended && meta.kwargs != null ? encodeStored(meta.kwargs, key) : null],
      ['worker', extended ? (meta.worker ?? null) : null],
      // models.py: date_done is auto_now (every save), date_created auto_now_add.
      ['date_done', now],
    ];
    if (meta.status === 'STARTED') fields.push(['date_started', now]);
    await this.upsert(TABLE, 'task_id', meta.task_id, fields, now);
    return true;
  }

  async getMeta(taskId: string): Promise<TaskMeta> {
    const rows = await this.sql.query<TaskRow>(
      `SELECT task_id, status, content_type, content_encoding, result, date_done, traceback, meta, task_name, task_args, task_kwargs, worker FROM ${TABLE} WHERE task_id = ?`,
      [taskId],
    );
    const row = rows[0];
    return row ? rowToMeta(row) : pendingMeta(taskId);
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return this.waits.wait(taskId, options);
  }

  /** database.py `_forget`: the row is deleted. */
  async forget(taskId: string): Promise<void> {
    await this.sql.execute(`DELETE FROM ${TABLE} WHERE task_id = ?`, [taskId]);
  }

  /**
   * database.py `_save_group` / managers.py `store_group_result`: the group's tuple
   * (`GroupResult.as_tuple()`) as the row's result, upserted on group_id.
   */
  async saveGroup(groupId: string, result: ResultTuple): Promise<void> {
    const encoded = encodeStored(result, `${GROUP_TABLE}(group_id=${groupId})`);
    const now = new Date();
    const fields: [string, unknown][] = [
      ['result', encoded],
      ['content_encoding', 'utf-8'],
      ['content_type', 'application/json'],
      // models.py: date_done is auto_now, date_created auto_now_add.
      ['date_done', now],
    ];
    await this.upsert(GROUP_TABLE, 'group_id', groupId, fields, now);
  }

  /** database.py `_restore_group`: the decoded tuple, or null when no row (or no result) is stored. */
  async restoreGroup(groupId: string): Promise<ResultTuple | null> {
    const rows = await this.sql.query<GroupRow>(`SELECT group_id, content_type, content_encoding, result FROM ${GROUP_TABLE} WHERE group_id = ?`, [groupId]);
    const row = rows[0];
    if (!row) return null;
    const where = `${GROUP_TABLE}(group_id=${groupId})`;
    const tuple = decodeContent(row, row.result, where);
    if (tuple == null) return null;
    if (!Array.isArray(tuple)) throw new DecodeError(`the group in ${where} is not a result tuple`);
    return tuple as ResultTuple;
  }

  /** database.py `_delete_group`: the row is deleted. */
  async deleteGroup(groupId: string): Promise<void> {
    await this.sql.execute(`DELETE FROM ${GROUP_TABLE} WHERE group_id = ?`, [groupId]);
  }

  /**
   * database.py `cleanup` / managers.py `delete_expired`: the task and group rows whose date_done
   * is older than result_expires (in batches of 100,000, as django-celery-results deletes them).
   */
  async cleanup(): Promise<void> {
    if (!this.expiresMs) return;
    const before = new Date(Date.now() - this.expiresMs);
    for (const table of [TABLE, GROUP_TABLE]) {
      const batch =
        this.sql.dialect === 'postgres'
          ? `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE date_done < ? ORDER BY id LIMIT ${CLEANUP_BATCH})`
          : `DELETE FROM ${table} WHERE date_done < ? ORDER BY id LIMIT ${CLEANUP_BATCH}`;
      // A full batch may have left more behind: go on until one comes back short.
      while ((await this.sql.execute(batch, [before])) === CLEANUP_BATCH);
    }
  }

  /** The chord counter on this database (django_celery_results_chordcounter). */
  chordCounter(): DjangoChordCounter {
    return new DjangoChordCounter(this.sql, (taskId) => this.getMeta(taskId));
  }

  /** INSERT, or UPDATE the fields when `key` is taken (get_or_create, then every field saved). */
  private async upsert(table: string, keyColumn: string, key: string, fields: [string, unknown][], now: Date): Promise<void> {
    const columns = [keyColumn, ...fields.map(([c]) => c), 'date_created'];
    const values = [key, ...fields.map(([, v]) => v), now];
    const insert = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    const update =
      this.sql.dialect === 'postgres'
        ? ` ON CONFLICT (${keyColumn}) DO UPDATE SET ${fields.map(([c]) => `${c} = EXCLUDED.${c}`).join(', ')}`
        : ` ON DUPLICATE KEY UPDATE ${fields.map(([c]) => `${c} = VALUES(${c})`).join(', ')}`;
    await this.sql.execute(insert + update, values);
  }

  async close(): Promise<void> {
    this.waits.failAll(new Error(`result backend django-db (${this.sql.where}) is closed`));
    await this.sql.close();
  }
}

/** database.py `decode_content`: empty content is None; 'binary' content is base64. */
function decodeContent(row: { content_type: string; content_encoding: string }, content: string | null, where: string): unknown {
  if (!content) return null;
  const text = row.content_encoding === 'binary' ? Buffer.from(content, 'base64').toString('utf8') : content;
  if (row.content_type !== 'application/json') {
    throw new DecodeError(`the result in ${where} is ${row.content_type}; only application/json (result_serializer 'json') is supported`);
  }
  try {
    return jsonDecode(text);
  } catch (cause) {
    throw new DecodeError(`the value in ${where} is not valid JSON`, { cause });
  }
}

/** database.py `_get_task_meta_for`: the row's fields, its decoded meta merged in, args/kwargs named both ways. */
export function rowToMeta(row: TaskRow): TaskMeta {
  const where = `${TABLE}(task_id=${row.task_id})`;
  const decode = (content: string | null): unknown => decodeContent(row, content, where);
  const extra = (decode(row.meta) ?? {}) as Record<string, unknown>;
  let args: unknown = row.task_args;
  let kwargs: unknown = row.task_kwargs;
  try {
    args = decode(row.task_args);
    kwargs = decode(row.task_kwargs);
  } catch {
    // database.py keeps the raw text when the arguments do not decode.
  }
  const dateDone = row.date_done == null ? null : formatDateDone(row.date_done instanceof Date ? row.date_done : new Date(row.date_done));
  return {
    ...pendingMeta(row.task_id),
    status: row.status,
    result: decode(row.result),
    traceback: row.traceback,
    date_done: dateDone,
    name: row.task_name,
    worker: row.worker,
    task_args: args,
    task_kwargs: kwargs,
    args: args as unknown[] | null,
    kwargs: kwargs as Record<string, unknown> | null,
    ...extra,
    task_id: row.task_id,
  } as TaskMeta;
}
