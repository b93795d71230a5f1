// The task meta document a result backend stores under `celery-task-meta-<id>`
// (celery/backends/base.py `Backend._get_result_meta`; result tuples as celery/result.py
// `AsyncResult.as_tuple` / `result_from_tuple`). Pure types and builders.
import { formatDateDone } from './iso-time.js';

/** `[[id, parent | null], null]` for a task; `[[groupId, parent], [members…]]` for a group. */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

export interface TaskMeta {
  status: string;
  result: unknown;
  traceback: string | null;
  /** null when stored outside a task's request (base.py `current_task_children` without one). */
  children: ResultTuple[] | null;
  /** ISO time for ready states, else null. Celery 5.2 writes naive UTC, ≥5.5 an offset. */
  date_done: string | null;
  task_id: string;
  group_id?: string | null;
  parent_id?: string | null;
  // result_extended fields:
  name?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
  [key: string]: unknown;
}

/** The meta of a task nobody has stored anything for. */
export function pendingMeta(taskId: string): TaskMeta {
  return { status: 'PENDING', result: null, traceback: null, children: [], date_done: null, task_id: taskId };
}

/**
 * A stored meta with a PENDING meta's fields filled in where it has none (`{ ...pendingMeta(id),
 * ...doc }`, written without a second spread: in Node 20's V8 an object spread followed by more
 * properties gives every object a map of its own, allocated in old space).
 */
export function withPendingDefaults(taskId: string, doc: object): TaskMeta {
  const meta: Record<string, unknown> = { ...doc };
  for (const [key, value] of Object.entries(pendingMeta(taskId))) if (!Object.hasOwn(meta, key)) meta[key] = value;
  return meta as unknown as TaskMeta;
}

export interface MetaInput {
  taskId: string;
  status: string;
  result: unknown;
  traceback?: string | null;
  children?: ResultTuple[] | null;
  /** When the state was reached; stored only for ready states. */
  dateDone?: Date | null;
  groupId?: string | null;
  parentId?: string | null;
  /** `result_extended` fields. */
  extended?: { name: string; args: unknown[]; kwargs: Record<string, unknown>; worker: string; retries: number; queue: string | null };
}

const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/**
 * The meta document in the key order Python writes it: `_get_result_meta` (celery/backends/base.py)
 * builds status … date_done, then group_id / parent_id when set, then the result_extended fields;
 * the Redis backend's `_store_result` adds task_id last (fixtures result-*, chord header results).
 */
export function buildTaskMeta(input: MetaInput): TaskMeta {
  const meta = {
    status: input.status,
    result: input.result,
    traceback: input.traceback ?? null,
    children: input.children === undefined ? [] : input.children,
    date_done: READY.has(input.status) && input.dateDone ? formatDateDone(input.dateDone) : null,
  } as TaskMeta;
  if (input.groupId) meta.group_id = input.groupId;
  if (input.parentId) meta.parent_id = input.parentId;
  if (input.extended) {
    const { name, args, kwargs, worker, retries, queue } = input.extended;
    Object.assign(meta, { name, args, kwargs, worker, retries, queue });
  }
  meta.task_id = input.taskId;
  return meta;
}

/** `[[id, parent], null]`: how a single task result is referenced in `children`. */
export function resultTuple(id: string, parent: ResultTuple | null = null): ResultTuple {
  return [[id, parent], null];
}
