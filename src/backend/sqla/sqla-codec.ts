// The column values of Celery's SQLAlchemy result backend (celery/backends/database/__init__.py,
// Celery 5.7): `result`, `children`, extended `args` / `kwargs`, `stamps` and a saved group's
// tuple are the result serializer's bytes (`ensure_bytes(self.encode(value))`) in LargeBinary
// columns; date_done is naive UTC. Pure: rows in, metas out, and back.
//
// Celery ≤ 5.6 declared `result` as SQLAlchemy's PickleType, so its rows hold a pickle (first
// byte 0x80, protocol 2+). Celery 5.7 still unpickles those (`_decode_stored_result`); we never
// unpickle anything and refuse such a row with a DecodeError instead.
import { DecodeError } from '../../errors.js';
import { jsonDecode, jsonEncode } from '../../protocol/codecs/json.js';
import { formatDateDone } from '../../protocol/iso-time.js';
import { pendingMeta, type ResultTuple, type TaskMeta } from '../../protocol/result-meta.js';

/** celery/backends/base.py `COMPRESSED_PAYLOAD_MAGIC`: a value written with `result_compression`. */
const COMPRESSED_MAGIC = Buffer.from('\x00celery-compressed\x00', 'latin1');

/** A value as the json result serializer stores it. */
export function encodeValue(value: unknown): Buffer {
  return Buffer.from(jsonEncode(value), 'utf8');
}

/** A stored value (base.py `decode`), or null for NULL; `where` names the row and column. */
export function decodeValue(stored: Buffer | string | null, where: string): unknown {
  if (stored === null) return null;
  const bytes = typeof stored === 'string' ? Buffer.from(stored, 'utf8') : stored;
  if (bytes[0] === 0x80) {
    throw new DecodeError(`${where} holds a pickle (written by Celery ≤ 5.6, whose result column was PickleType); ts-celery never unpickles — re-run the task or store it with Celery ≥ 5.7`);
  }
  if (bytes.subarray(0, COMPRESSED_MAGIC.length).equals(COMPRESSED_MAGIC)) {
    throw new DecodeError(`${where} is compressed (result_compression), which ts-celery does not read`);
  }
  try {
    return jsonDecode(bytes.toString('utf8'));
  } catch (cause) {
    throw new DecodeError(`${where} is not JSON (ts-celery reads result_serializer 'json')`, { cause });
  }
}

/**
 * A naive UTC timestamp, as Celery writes `app.now()` into a DateTime column, with microseconds:
 * SQLite keeps it as text in SQLAlchemy's storage format (`%Y-%m-%d %H:%M:%S.%f`, sqlite/base.py
 * DATETIME), where Celery's cleanup compares it as a string.
 */
export function utcTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '000');
}

/** A naive UTC timestamp read back as text (`2026-01-02 03:04:05[.ffffff]`). */
export function parseUtcTimestamp(text: string): Date {
  const date = new Date(`${text.trim().replace(' ', 'T')}Z`);
  if (Number.isNaN(date.getTime())) throw new DecodeError(`date_done ${JSON.stringify(text)} is not a timestamp`);
  return date;
}

/** The celery_taskmeta row as read (date_done selected as text, so no driver moves it to local time). */
export interface TaskRow {
  task_id: string;
  status: string | null;
  result: Buffer | null;
  date_done: string | null;
  traceback: string | null;
  children: Buffer | null;
  name: string | null;
  args: Buffer | null;
  kwargs: Buffer | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  stamps: Buffer | null;
}

/**
 * __init__.py `_update_result`: every column but id / task_id set from the meta (`None` where the
 * meta has nothing, so a non-extended write clears the extended columns), children only when
 * non-empty, args / kwargs encoded when result_extended (here: the meta carries a task name).
 */
export function taskColumns(meta: TaskMeta): Record<Exclude<keyof TaskRow, 'task_id'>, unknown> {
  const extended = meta.name != null;
  return {
    status: meta.status,
    result: encodeValue(meta.result),
    date_done: meta.date_done ? utcTimestamp(new Date(meta.date_done)) : null,
    traceback: meta.traceback ?? null,
    children: meta.children?.length ? encodeValue(meta.children) : null,
    name: extended ? meta.name : null,
    args: extended ? encodeValue(meta.args ?? null) : null,
    kwargs: extended ? encodeValue(meta.kwargs ?? null) : null,
    worker: extended ? (meta.worker ?? null) : null,
    retries: extended ? (meta.retries ?? null) : null,
    queue: extended ? (meta.queue ?? null) : null,
    // `stamps` is kept as it is unless the request carried stamped headers, which we never send.
    stamps: undefined,
  };
}

/** __init__.py `_get_task_meta_for`: `Task.to_dict()` with its binary columns decoded. */
export function rowToMeta(row: TaskRow, table: string): TaskMeta {
  const where = (column: string) => `${table}(task_id=${row.task_id}).${column}`;
  const meta: TaskMeta = {
    ...pendingMeta(row.task_id),
    status: row.status ?? 'PENDING',
    result: decodeValue(row.result, where('result')),
    traceback: row.traceback,
    date_done: row.date_done === null ? null : formatDateDone(parseUtcTimestamp(row.date_done)),
    children: decodeValue(row.children, where('children')) as ResultTuple[] | null,
    name: row.name,
    args: decodeValue(row.args, where('args')) as unknown[] | null,
    kwargs: decodeValue(row.kwargs, where('kwargs')) as Record<string, unknown> | null,
    worker: row.worker,
    retries: row.retries,
    queue: row.queue,
  };
  // Stamps are best effort in Celery too: an undecodable value is skipped.
  try {
    const stamps = decodeValue(row.stamps, where('stamps')) as { stamped_headers?: unknown; stamps?: unknown } | null;
    if (stamps && typeof stamps === 'object') {
      if ('stamped_headers' in stamps) meta.stamped_headers = stamps.stamped_headers;
      if (stamps.stamps && typeof stamps.stamps === 'object') Object.assign(meta, stamps.stamps);
    }
  } catch {
    // __init__.py `_get_task_meta_for`: `except Exception: pass`.
  }
  return meta;
}

/** `_restore_group`: the saved tuple (`prepare_value(result)` = `as_tuple()`, not wrapped). */
export function decodeGroupTuple(stored: Buffer | null, where: string): ResultTuple | null {
  const value = decodeValue(stored, where);
  if (value === null) return null;
  if (!Array.isArray(value)) throw new DecodeError(`${where} is not a result tuple`);
  return value as ResultTuple;
}
