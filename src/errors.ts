// The error hierarchy of ts-celery. Where Celery has an exception of the same meaning the
// class carries Celery's name, because `name` travels to Python as `exc_type`
// (celery/backends/base.py `Backend.prepare_exception`) and `pythonModule` as `exc_module`.

/** Base class of every error ts-celery throws. */
export class CeleryError extends Error {
  /** The Python module Celery's class of this name lives in (`exc_module` on the wire). */
  readonly pythonModule: string = 'celery.exceptions';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** The exception's args as Python holds them (`exc_message` on the wire); by default the message. */
  get pythonArgs(): unknown[] {
    return [this.message];
  }
}

/** A message, envelope or header that does not follow the protocol. `field` names the culprit. */
export class ProtocolError extends CeleryError {
  override readonly name = 'ProtocolError' as const;
  constructor(
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${reason}`, options);
  }
}

/** The message's content type (or compression) is not accepted (kombu's ContentDisallowed). */
export class ContentDisallowed extends CeleryError {
  override readonly name = 'ContentDisallowed' as const;
  override readonly pythonModule = 'kombu.exceptions';
}

/** The message body could not be decoded (kombu's DecodeError). */
export class DecodeError extends CeleryError {
  override readonly name = 'DecodeError' as const;
  override readonly pythonModule = 'kombu.exceptions';
}

/**
 * A message, or its body once decompressed, is larger than `worker_max_message_size` (Celery has
 * no such limit, so no Celery name; Python rebuilds it as a `celery.exceptions` class).
 */
export class MessageTooLarge extends CeleryError {
  override readonly name = 'MessageTooLarge' as const;
}

/** A configuration value or CLI flag is invalid; the message names the setting and the value. */
export class ConfigError extends CeleryError {
  override readonly name = 'ConfigError' as const;
}

/** The broker or result backend failed; `cause` holds the client's error. */
export class TransportError extends CeleryError {
  override readonly name = 'TransportError' as const;
}

/**
 * The result backend's connection is down (it was up before): a write may be retried
 * (celery/backends/redis.py `RedisBackend.exception_safe_to_retry`: a connection error).
 */
export class BackendUnavailable extends CeleryError {
  override readonly name = 'BackendUnavailable' as const;
}

/** Celery's BackendStoreError: the result could not be stored, retries exhausted. */
export class BackendStoreError extends CeleryError {
  override readonly name = 'BackendStoreError' as const;
}

/** A task name no worker has registered. */
export class NotRegistered extends CeleryError {
  override readonly name = 'NotRegistered' as const;
  constructor(readonly taskName: string) {
    // Celery's NotRegistered is a KeyError whose only arg is the name (`exc_message: [name]`).
    super(taskName);
  }
}

/** Waiting for a result took longer than the given timeout (celery.exceptions.TimeoutError). */
export class TimeoutError extends CeleryError {
  override readonly name = 'TimeoutError' as const;
}

/** The task was revoked or expired before it could run. */
export class TaskRevokedError extends CeleryError {
  override readonly name = 'TaskRevokedError' as const;
}

/** When and how `ctx.retry()` re-sends a task (the arguments of Python's `Task.retry`). */
export interface RetryOptions {
  /** Seconds from now; default the task's `default_retry_delay` (180). */
  countdown?: number;
  /** An absolute time instead of a countdown. */
  eta?: Date;
  /** The error that caused the retry: stored with RETRY, raised when retries run out. */
  exc?: unknown;
  /** Overrides the task's `max_retries` for this call (null = retry forever). */
  max_retries?: number | null;
}

/** Thrown by `ctx.retry()`; the worker re-publishes the task (celery.exceptions.Retry). */
export class Retry extends CeleryError {
  override readonly name = 'Retry' as const;
  constructor(readonly options: RetryOptions = {}) {
    super(options.exc instanceof Error ? options.exc.message : 'Task can be retried');
  }
}

/**
 * Thrown by a handler to reject its message, optionally requeueing it. Without requeue the task
 * is recorded as FAILURE Reject(reason, False), as Celery 5.7 does; with requeue nothing is stored.
 */
export class Reject extends CeleryError {
  override readonly name = 'Reject' as const;
  constructor(
    readonly reason: string = '',
    readonly requeue = false,
  ) {
    super(reason);
  }
  /** celery.exceptions.Reject(reason=None, requeue=False): both are its args. */
  override get pythonArgs(): unknown[] {
    return [this.reason || null, this.requeue];
  }
}

/** Thrown by a handler to ack its message and store nothing. */
export class Ignore extends CeleryError {
  override readonly name = 'Ignore' as const;
  constructor(message = '') {
    super(message);
  }
}

/**
 * billiard's, which celery.exceptions re-exports; raised with no args (billiard/pool.py
 * soft_timeout_sighandler `raise SoftTimeLimitExceeded()`).
 */
export class SoftTimeLimitExceeded extends CeleryError {
  override readonly name = 'SoftTimeLimitExceeded' as const;
  override readonly pythonModule = 'billiard.exceptions';
  override get pythonArgs(): unknown[] {
    return [];
  }
}

/** billiard's; its one arg is the hard limit in seconds (celery/worker/request.py on_timeout `TimeLimitExceeded(timeout)`). */
export class TimeLimitExceeded extends CeleryError {
  override readonly name = 'TimeLimitExceeded' as const;
  override readonly pythonModule = 'billiard.exceptions';
  /** The hard limit that was exceeded, in seconds. */
  limit: number | null;
  constructor(message: string, options?: { cause?: unknown; limit?: number }) {
    super(message, options);
    this.limit = options?.limit ?? null;
  }
  override get pythonArgs(): unknown[] {
    return this.limit === null ? [this.message] : [this.limit];
  }
}

export class MaxRetriesExceededError extends CeleryError {
  override readonly name = 'MaxRetriesExceededError' as const;
}

export class ChordError extends CeleryError {
  override readonly name = 'ChordError' as const;
}

/**
 * An exception raised by a task elsewhere (Python or TypeScript), rebuilt from the result
 * backend's `{exc_type, exc_message, exc_module}`: what `AsyncResult.get()` rejects with.
 */
export class TaskError extends CeleryError {
  override readonly name = 'TaskError' as const;
  constructor(
    /** Python class name, e.g. `ValueError`. */
    readonly excType: string,
    /** Python module, e.g. `builtins`. */
    readonly excModule: string,
    /** The exception's args, as stored (`exc_message`). */
    readonly excArgs: unknown[],
    /** The remote traceback text, when one was stored. */
    readonly remoteTraceback: string | null,
    /** The task state that carried it (FAILURE, REVOKED, RETRY). */
    readonly state: string,
  ) {
    super(`${excType}: ${excArgs.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(', ')}`);
  }
}

/**
 * Task arguments that fail the task's schema. Travels to Python as builtins `ValueError`, the
 * exception Python code raises for a well-typed but invalid argument.
 */
export class ArgumentValidationError extends CeleryError {
  override readonly name = 'ValueError' as const;
  override readonly pythonModule = 'builtins';
}

/** A task's return value could not be serialized (kombu's EncodeError). */
export class EncodeError extends CeleryError {
  override readonly name = 'EncodeError' as const;
  override readonly pythonModule = 'kombu.exceptions';
}
