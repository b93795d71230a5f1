// The stored text of task metas and saved groups (celery/backends/base.py
// `BaseKeyValueStoreBackend._store_result`, `_save_group`, `_restore_group`): JSON written with
// kombu-compatible encoding, read back from whoever wrote it (Python or us), errors naming the key.
import { DecodeError, EncodeError } from '../errors.js';
import { jsonDecode, jsonEncode } from '../protocol/codecs/json.js';
import { pendingMeta, type ResultTuple, type TaskMeta, withPendingDefaults } from '../protocol/result-meta.js';

/** celery/backends/redis.py `_MAX_STR_VALUE_SIZE`: Redis refuses strings over 512 MiB. */
const MAX_VALUE_BYTES = 536_870_912;

/** The stored text of a value; refuses what Redis could not hold (Celery's BackendStoreError). */
export function encodeStored(value: unknown, key: string): string {
  const text = jsonEncode(value);
  // Cheap guard first: UTF-8 needs at most 3 bytes per UTF-16 code unit, so short texts pass.
  if (text.length * 3 > MAX_VALUE_BYTES && Buffer.byteLength(text, 'utf8') > MAX_VALUE_BYTES) {
    throw new EncodeError(`value too large for Redis backend (${key})`);
  }
  return text;
}

/**
 * A stored task meta, or PENDING when nothing is stored. Missing fields get their PENDING
 * defaults, so metas written by older or foreign writers still satisfy TaskMeta.
 */
export function decodeMeta(raw: string | null, key: string, taskId: string): TaskMeta {
  // base.py `_get_task_meta_for`: an empty value counts as absent, like a missing key.
  if (raw === null || raw === '') return pendingMeta(taskId);
  const doc = parseStored(raw, key);
  if (typeof doc.status !== 'string') {
    throw new DecodeError(`the result stored under ${key} has no "status" string: ${preview(raw)}`);
  }
  return withPendingDefaults(taskId, doc);
}

/** A saved group's result tuple (`{"result": tuple}`), or null when nothing is saved. */
export function decodeGroup(raw: string | null, key: string): ResultTuple | null {
  if (raw === null || raw === '') return null;
  const doc = parseStored(raw, key);
  if (!Array.isArray(doc.result)) {
    throw new DecodeError(`the group stored under ${key} has no "result" tuple: ${preview(raw)}`);
  }
  return doc.result as ResultTuple;
}

function parseStored(raw: string, key: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = jsonDecode(raw);
  } catch (cause) {
    throw new DecodeError(`the value stored under ${key} is not valid JSON: ${preview(raw)}`, { cause });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new DecodeError(`the value stored under ${key} is not a JSON object: ${preview(raw)}`);
  }
  return doc as Record<string, unknown>;
}

function preview(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
}
