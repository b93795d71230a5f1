// Result backend key names, defined once (celery/backends/base.py
// BaseKeyValueStoreBackend `_add_global_keyprefix`, `get_key_for_task`/`_group`/`_chord`).
// Every key doubles as the PUB/SUB channel its writes are announced on.
import { ProtocolError } from '../../errors.js';

export class ResultKeys {
  /** The global keyprefix as Celery applies it (with its separator), or ''. */
  readonly prefix: string;

  /**
   * `result_backend_transport_options.global_keyprefix` (Celery ≥5.3): an underscore is appended
   * unless the prefix already ends in one of `:_-.` (base.py `_add_global_keyprefix`).
   */
  constructor(globalKeyprefix = '') {
    this.prefix = globalKeyprefix && !':_-.'.includes(globalKeyprefix.at(-1)!) ? `${globalKeyprefix}_` : globalKeyprefix;
  }

  /** `celery-task-meta-<id>`: the task meta document. */
  task(taskId: string): string {
    return `${this.prefix}celery-task-meta-${nonEmpty(taskId, 'task_id')}`;
  }

  /** `celery-taskset-meta-<id>`: a saved GroupResult `{"result": tuple}`. */
  group(groupId: string): string {
    return `${this.prefix}celery-taskset-meta-${nonEmpty(groupId, 'group_id')}`;
  }

  /** `celery-taskset-meta-<id>.j`: the chord join set (zset; a list with result_chord_ordered=False). */
  chordJoin(groupId: string): string {
    return `${this.group(groupId)}.j`;
  }

  /** `celery-taskset-meta-<id>.s`: the chord header size the producer stores. */
  chordSize(groupId: string): string {
    return `${this.group(groupId)}.s`;
  }

  /** `celery-taskset-meta-<id>.t`: tasks added to a running chord (INCR by `add_to_chord`). */
  chordAdjust(groupId: string): string {
    return `${this.group(groupId)}.t`;
  }

  /** `celery-taskset-meta-<id>.d`: header outcomes already counted, `<task id>:<index>` (Celery ≥5.7). */
  chordDedup(groupId: string): string {
    return `${this.group(groupId)}.d`;
  }

  /** `celery-taskset-meta-<id>.c`: the body-dispatch claim, then a `done` marker (Celery ≥5.7). */
  chordClaim(groupId: string): string {
    return `${this.group(groupId)}.c`;
  }

  /** `chord-unlock-<id>`: the counter of non-Redis chord joins (unused on Redis, prefixed alike). */
  chordUnlock(groupId: string): string {
    return `${this.prefix}chord-unlock-${nonEmpty(groupId, 'group_id')}`;
  }
}

/** Celery raises ValueError for an empty id rather than writing a key without one. */
function nonEmpty(id: string, field: string): string {
  if (!id) throw new ProtocolError(field, `must not be empty, got ${JSON.stringify(id)}`);
  return id;
}
