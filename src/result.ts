// AsyncResult: a handle on one task's state in the result backend, with the semantics of
// celery.result.AsyncResult (state, info, ready, get that re-raises remote errors).
import type { ResultBackend } from './backend/result-backend.js';
import { CeleryError } from './errors.js';
import { fromExceptionInfo } from './protocol/exceptions.js';
import type { ResultTuple, TaskMeta } from './protocol/result-meta.js';
import { EXCEPTION_STATES, PROPAGATE_STATES, READY_STATES, SUCCESS } from './protocol/states.js';

export interface GetOptions {
  /** Seconds to wait, as in Celery's `get(timeout=…)`; default: wait forever. */
  timeout?: number;
  /** Reject with the task's error on FAILURE/REVOKED (default true); else resolve with the error. */
  propagate?: boolean;
  signal?: AbortSignal;
}

function configuredBackend(ref: () => ResultBackend | null): ResultBackend {
  const backend = ref();
  if (!backend) throw new CeleryError('no result backend is configured (set result_backend)');
  return backend;
}

/** What `revoke` needs: the app's remote control (`app.control.revoke`). */
export interface Revoker {
  revoke(taskId: string, options: { terminate?: boolean; signal?: string }): Promise<unknown>;
}

export class AsyncResult<T = unknown> {
  constructor(
    readonly id: string,
    private readonly backendRef: () => ResultBackend | null,
    private readonly revokerRef: () => Revoker | null = () => null,
  ) {}

  private get backend(): ResultBackend {
    return configuredBackend(this.backendRef);
  }

  /** The full meta document as stored (`PENDING` when nothing is stored). */
  meta(): Promise<TaskMeta> {
    return this.backend.getMeta(this.id);
  }

  /** The task's state: PENDING, STARTED, RETRY, SUCCESS, FAILURE, REVOKED or a custom state. */
  async state(): Promise<string> {
    return (await this.meta()).status;
  }

  /** The stored `result` field: the return value, the progress meta of a custom state, or the error. */
  async info(): Promise<unknown> {
    const meta = await this.meta();
    return EXCEPTION_STATES.has(meta.status) ? this.toError(meta) : meta.result;
  }

  async traceback(): Promise<string | null> {
    return (await this.meta()).traceback;
  }

  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === SUCCESS;
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === 'FAILURE';
  }

  /**
   * Wait for the task to finish and return its value; rejects with a {@link TaskError} carrying the
   * remote exception type, message and traceback on FAILURE or REVOKED.
   * @example const sum = await (await app.sendTask('tasks.add', [2, 3])).get({ timeout: 10 });
   */
  async get(options: GetOptions = {}): Promise<T> {
    const meta = await this.backend.waitFor(this.id, {
      timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000,
      signal: options.signal,
    });
    if (PROPAGATE_STATES.has(meta.status)) {
      const error = this.toError(meta);
      if (options.propagate ?? true) throw error;
      return error as T;
    }
    return meta.result as T;
  }

  /**
   * Ask every worker not to run this task (Python's `AsyncResult.revoke`); with `terminate` a
   * running one is stopped. Workers store REVOKED at once.
   */
  async revoke(options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    const revoker = this.revokerRef();
    if (!revoker) throw new CeleryError('revoke needs the app (use app.AsyncResult(id))');
    await revoker.revoke(this.id, options);
  }

  /** Remove the stored result. */
  forget(): Promise<void> {
    return this.backend.forget(this.id);
  }

  toString(): string {
    return this.id;
  }

  private toError(meta: TaskMeta) {
    return fromExceptionInfo(meta.result, meta.traceback, meta.status);
  }
}

/**
 * The results of a group (celery.result.GroupResult): one AsyncResult per member, in order.
 * @example const sums = await (await app.applyAsync(group([add.s([1, 1]), add.s([2, 2])]))).get({ timeout: 10 });
 */
export class GroupResult<T = unknown> {
  constructor(
    readonly id: string,
    readonly results: readonly AsyncResult<T>[],
    private readonly backendRef: () => ResultBackend | null = () => null,
  ) {}

  private get backend(): ResultBackend {
    return configuredBackend(this.backendRef);
  }

  /** Store the group (`celery-taskset-meta-<id>`) so any process can restore it: `app.restoreGroup(id)`. */
  async save(): Promise<void> {
    await this.backend.saveGroup(this.id, [[this.id, null], this.results.map((r): ResultTuple => [[r.id, null], null])]);
  }

  /** Remove the saved group and every member's result. */
  async forget(): Promise<void> {
    await Promise.all([this.backend.deleteGroup(this.id), ...this.results.map((r) => r.forget())]);
  }

  /** Every member's value, in order; rejects with the first member error (`propagate`, default). */
  get(options: GetOptions = {}): Promise<T[]> {
    return Promise.all(this.results.map((r) => r.get(options)));
  }

  async ready(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.ready()))).every(Boolean);
  }

  async successful(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.successful()))).every(Boolean);
  }

  /** How many members finished successfully (`completed_count`). */
  async completedCount(): Promise<number> {
    return (await Promise.all(this.results.map((r) => r.successful()))).filter(Boolean).length;
  }
}
