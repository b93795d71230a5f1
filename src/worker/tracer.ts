// Runs one task and records what happened, as celery/app/trace.py does: STARTED (when tracked),
// the handler under its time limits, then SUCCESS (callbacks and the next chain step published
// first, so `children` is complete), RETRY (re-published), or FAILURE (propagated to the rest of
// the chain and to errbacks). Control-flow errors are matched here, by class, and nowhere else.
import type { Celery } from '../app.js';
import type { ResultBackend } from '../backend/result-backend.js';
import { applySignature } from '../canvas/apply-signature.js';
import { Replace, replacementFor } from '../canvas/replace.js';
import { Ignore, Reject, Retry, type RetryOptions, SoftTimeLimitExceeded, TaskRevokedError, type TimeLimitExceeded } from '../errors.js';
import type { Logger } from '../log.js';
import type { CeleryTracing } from '../observe/celery-tracing.js';
import { type ExceptionInfo, exceptionRepr, formatTraceback, toExceptionInfo } from '../protocol/exceptions.js';
import { argsRepr } from '../protocol/repr.js';
import type { ResultTuple, TaskMeta } from '../protocol/result-meta.js';
import { FAILURE, RETRY, REVOKED, STARTED, SUCCESS } from '../protocol/states.js';
import type { TaskContext } from '../registry/task-definition.js';
import type { SignalName, SignalPayloads } from '../signals.js';
import { publishCallbacks, publishChainStep, publishErrbacks } from './canvas-dispatch.js';
import { onChordPartReturn } from './chord-part.js';
import { logLines } from './log-lines.js';
import { inProcessExecutor, type TaskExecutor } from './pools/executor.js';
import { WorkerLostError } from './pools/worker-lost.js';
import type { Request } from './request.js';
import type { TaskAbort } from './task-abort.js';
import { WorkerTaskContext } from './task-context.js';
import type { TaskObserver } from './task-observer.js';
import { ResultRecorder } from './result-recorder.js';
import { autoretryFor, decideRetry, republish } from './retry.js';
import { runSpanAttributes } from './run-span-attributes.js';
import { armTimeLimits, resolveTimeLimits, type TimeLimits } from './time-limits.js';

export interface TracerDeps {
  app: Celery;
  backend: ResultBackend | null;
  logger: Logger;
  hostname: string;
  now: () => number;
  random?: () => number;
  /** Where handlers run (default: in-process). */
  executor?: TaskExecutor;
  /** Sends a task event (task-started, task-succeeded, …); dropped unless task events are on. */
  emit?: (type: string, fields: Record<string, unknown>) => void;
  /** Whether task events are sent now (the hot path skips building their fields when not). */
  taskEvents?: () => boolean;
  /** Time limits set at run time by the `time_limit` control command, by task name. */
  timeLimitOverrides?: ReadonlyMap<string, { soft: number | null; hard: number | null }>;
}

export class TaskTracer {
  private readonly recorder: ResultRecorder;
  /** Metrics, when on (set by the worker before it consumes). */
  observer: TaskObserver | null = null;
  /** OpenTelemetry, when a tracer provider is registered (set by the worker before it consumes). */
  tracing: CeleryTracing | null = null;

  constructor(private readonly deps: TracerDeps) {
    this.recorder = new ResultRecorder(deps.backend, deps.app.conf, deps.hostname, deps.logger, deps.now);
  }

  private get conf() {
    return this.deps.app.conf;
  }

  acksLate(req: Request): boolean {
    return req.definition.options.acks_late ?? this.conf.task_acks_late;
  }

  private ignoresResult(req: Request): boolean {
    return req.task.ignoreResult || (req.definition.options.ignore_result ?? this.conf.task_ignore_result);
  }

  /** Failures, retries and revokes are stored unless results are ignored, and then with `store_errors_even_if_ignored` (celery/app/trace.py `handle_error_state`). */
  private storesErrors(req: Request): boolean {
    return !this.ignoresResult(req) || (req.definition.options.store_errors_even_if_ignored ?? this.conf.task_store_errors_even_if_ignored);
  }

  /** Run the request's task to completion (never throws). `controller` aborts the handler's signal. */
  execute(req: Request, controller: TaskAbort): Promise<void> {
    if (this.tracing === null) return this.run(req, controller);
    // opentelemetry-instrumentation-celery `_trace_prerun`: a CONSUMER span, parent from the headers.
    return this.tracing.consumer(req.task.name, req.task.headers, (span) => {
      req.span = span;
      return this.run(req, controller);
    });
  }

  private async run(req: Request, controller: TaskAbort): Promise<void> {
    const { task, definition } = req;
    if (task.expires && task.expires.getTime() <= this.deps.now()) return this.revoke(req, 'expired');
    const acksLate = this.acksLate(req);
    if (!acksLate) this.settle(req.ack(), req);
    else if (req.delivery.info.redelivered && this.conf.worker_deduplicate_successful_tasks && (await this.alreadySucceeded(req))) return;
    req.startedAt = this.deps.now();
    this.observer?.started(req, (req.startedAt - (task.eta?.getTime() ?? req.receivedAt)) / 1000);
    if (this.eventsOn()) this.emit('task-started', { uuid: task.id });
    if ((definition.options.track_started ?? this.conf.task_track_started) && !this.ignoresResult(req)) {
      await this.recorder.store(req, STARTED, { pid: process.pid, hostname: this.deps.hostname });
    }
    const ctx = this.context(req, controller);
    const override = this.deps.timeLimitOverrides?.get(task.name);
    const taskLimits = override ? { time_limit: override.hard, soft_time_limit: override.soft } : definition.options;
    const limits = resolveTimeLimits(task.timeLimit, taskLimits, this.conf);
    // No limit (Celery's default): no timers, and no handlers built for them.
    const disarm = limits.soft === null && limits.hard === null ? noLimits : this.armLimits(req, limits, controller, ctx);
    if (this.deps.app.signals.has('task_prerun')) await this.signal('task_prerun', { taskId: task.id, task: task.name, args: task.args, kwargs: task.kwargs, ctx });
    const started = performance.now();
    let state: string;
    let retval: unknown;
    try {
      const executor = this.deps.executor ?? inProcessExecutor;
      retval = await this.deps.app.currentTask.run(ctx, () => executor.run(definition, task.args, task.kwargs, ctx));
      if (req.hardLimitHit || req.cancelled) return; // already recorded; the late outcome is dropped
      if (req.terminated) return this.revoke(req, 'terminated');
      state = await this.onSuccess(req, retval ?? null, (performance.now() - started) / 1000, ctx);
    } catch (thrown) {
      if (req.hardLimitHit || req.cancelled) return;
      if (req.terminated) return this.revoke(req, 'terminated');
      const reason = controller.reason;
      // A handler that lets the soft-limit abort escape fails with SoftTimeLimitExceeded itself.
      const error = reason instanceof SoftTimeLimitExceeded && isAbortOf(thrown, reason) ? reason : thrown;
      [state, retval] = await this.onError(req, error, ctx);
    } finally {
      disarm();
    }
    if (this.deps.app.signals.has('task_postrun')) await this.signal('task_postrun', { taskId: task.id, task: task.name, args: task.args, kwargs: task.kwargs, retval, state, ctx });
    req.span?.finish(runSpanAttributes(req, state, this.deps.hostname));
    if (hasHook(req, 'after')) await this.hook(req, 'after', state, retval, ctx);
  }

  private armLimits(req: Request, limits: TimeLimits, controller: TaskAbort, ctx: TaskContext): () => void {
    return armTimeLimits(limits, {
      onSoft: (error) => {
        this.deps.logger.warn(`Soft time limit (${limits.soft}s) exceeded for ${req.displayName}[${req.id}]`);
        controller.abort(error);
      },
      onHard: (error) => {
        req.hardLimitHit = true;
        this.deps.logger.error(`Hard time limit (${limits.hard}s) exceeded for ${req.displayName}[${req.id}]`);
        controller.abort(error);
        void this.onHardLimit(req, error, ctx);
      },
    });
  }

  /**
   * Cancel a running task (celery/worker/request.py `Request.cancel`, `_announce_cancelled`): it
   * is aborted and whatever it does next is dropped; RETRY ('cancelled by Celery') is stored, as
   * Celery marks it — except, at a cold shutdown (consumer.py `cancel_active_requests`), for an
   * acks_late message not yet acknowledged, which goes back to the broker with nothing stored.
   * After a lost connection (`worker_cancel_long_running_tasks_on_connection_loss`) Celery marks
   * those RETRY too, and the broker delivers them again.
   */
  async cancel(req: Request, controller: TaskAbort, why: 'cold shutdown' | 'connection lost'): Promise<void> {
    req.cancelled = true;
    controller.abort(new Error(`cancelled: ${why}`));
    if (this.eventsOn()) this.emit('task-cancelled', { uuid: req.id });
    if (why === 'cold shutdown' && this.acksLate(req) && !req.acknowledged) return;
    if (this.storesErrors(req)) await this.recorder.store(req, RETRY, CANCELLED, null);
  }

  /**
   * `worker_deduplicate_successful_tasks` (celery/app/trace.py `build_tracer`): a redelivered
   * acks_late message whose task id already has SUCCESS stored is acked instead of run again;
   * its callbacks and chain are sent from the stored result when the stored meta names no
   * children (the earlier run stopped before sending them). A backend that cannot be read runs it.
   */
  private async alreadySucceeded(req: Request): Promise<boolean> {
    const backend = this.deps.backend;
    // rpc:// (the backend with reply queues) keeps results in the caller's queue: nothing to look up.
    if (!backend || backend.prepareReplies) return false;
    let meta: TaskMeta;
    try {
      meta = await backend.getMeta(req.id);
    } catch {
      return false;
    }
    if (meta.status !== SUCCESS) return false;
    this.deps.logger.info(logLines.alreadySucceeded(req.displayName, req.id));
    const { callbacks, chain } = req.task.embed;
    if ((callbacks?.length || chain?.length) && !meta.children?.length) await this.publishFollowUps(req, meta.result);
    this.settle(req.ack(), req);
    return true;
  }

  /** Discard a revoked, expired or terminated request: ack, store REVOKED, log. */
  async revoke(req: Request, reason: 'revoked' | 'expired' | 'terminated'): Promise<void> {
    this.settle(req.ack(), req);
    this.observer?.revoked(req);
    this.deps.logger.info(reason === 'expired' ? logLines.expired(req.displayName, req.id) : logLines.revoked(req.displayName, req.id));
    this.emit('task-revoked', { uuid: req.id, terminated: reason === 'terminated', signum: reason === 'terminated' ? 15 : null, expired: reason === 'expired' });
    const info = toExceptionInfo(new TaskRevokedError(reason));
    if (this.storesErrors(req)) await this.recorder.store(req, REVOKED, info);
    if (inChord(req)) await onChordPartReturn(this.deps.app, req, REVOKED, info, this.deps.logger);
  }

  private async onSuccess(req: Request, value: unknown, runtime: number, ctx: TaskContext): Promise<string> {
    const { callbacks, chain } = req.task.embed;
    const children = callbacks?.length || chain?.length ? await this.publishFollowUps(req, value) : [];
    if (!this.ignoresResult(req)) {
      const encodeError = await this.recorder.store(req, SUCCESS, value, null, children);
      if (encodeError) return (await this.onError(req, encodeError, ctx))[0];
    }
    if (inChord(req)) await onChordPartReturn(this.deps.app, req, SUCCESS, value, this.deps.logger);
    const logged = this.deps.logger.isEnabled('info');
    const events = this.eventsOn();
    // The repr is built only for a log line or an event that shows it.
    const repr = logged || events ? argsRepr(value) : '';
    if (logged) this.deps.logger.info(logLines.succeeded(req.displayName, req.id, runtime, repr));
    this.observer?.succeeded(req, runtime);
    if (events) this.emit('task-succeeded', { uuid: req.id, result: repr, runtime });
    if (this.acksLate(req)) this.settle(req.ack(), req);
    if (hasHook(req, 'onSuccess')) await this.hook(req, 'onSuccess', value, ctx);
    if (this.deps.app.signals.has('task_success')) await this.signal('task_success', { result: value, ctx });
    return SUCCESS;
  }

  /** Returns the final state and the value `after` hooks see. */
  private async onError(req: Request, error: unknown, ctx: TaskContext): Promise<[string, unknown]> {
    const { task, definition } = req;
    if (error instanceof Reject) {
      this.deps.logger.info(logLines.rejected(req.displayName, task.id, error.reason || 'rejected by the task'));
      // celery/worker/request.py on_failure (5.7, celery#4222): a message rejected without requeue
      // never runs again, so FAILURE Reject(reason, requeue) is recorded (no traceback) first.
      if (!error.requeue) await this.fail(req, error, ctx, { traceback: null, rejected: true });
      this.settle(req.reject(error.requeue), req);
      this.observer?.rejected(req);
      this.emit('task-rejected', { uuid: task.id, requeue: error.requeue });
      return ['REJECTED', error];
    }
    if (error instanceof Ignore) {
      this.deps.logger.info(logLines.ignored(req.displayName, task.id));
      this.settle(req.ack(), req);
      return ['IGNORED', error];
    }
    if (error instanceof Replace) return this.replace(req, error, ctx);
    if (error instanceof WorkerLostError) return this.workerLost(req, error, ctx);
    const retry = error instanceof Retry ? error.options : autoretryFor(error, definition.options, task.retries, this.deps.random);
    if (retry) return this.retry(req, retry, error, ctx);
    await this.fail(req, error, ctx);
    return [FAILURE, error];
  }

  /** `Task.replace`: send the replacement as this task's child, then end as Ignore does. */
  private async replace(req: Request, replace: Replace, ctx: TaskContext): Promise<[string, unknown]> {
    try {
      await applySignature(this.deps.app, replacementFor(req.task, replace.signature), { options: { parent_id: req.id } });
    } catch (error) {
      await this.fail(req, error, ctx);
      return [FAILURE, error];
    }
    this.deps.logger.info(logLines.replaced(req.displayName, req.id, replace.signature.task));
    this.settle(req.ack(), req);
    return ['IGNORED', replace];
  }

  private async retry(req: Request, options: RetryOptions, thrown: unknown, ctx: TaskContext): Promise<[string, unknown]> {
    const decision = decideRetry(req, options, this.deps.now());
    if (decision.kind === 'exhausted') {
      await this.fail(req, decision.error, ctx);
      return [FAILURE, decision.error];
    }
    let child: ResultTuple;
    try {
      child = await republish(this.deps.app, req, decision.eta);
    } catch (publishError) {
      await this.fail(req, publishError, ctx);
      return [FAILURE, publishError];
    }
    const reason = options.exc ?? thrown;
    const when = decision.countdown !== null ? `Retry in ${decision.countdown}s` : `Retry at ${decision.eta.toISOString()}`;
    const info = toExceptionInfo(reason);
    this.deps.logger.info(logLines.retry(req.displayName, req.id, `${when}: ${exceptionRepr(info)}`));
    this.observer?.retried(req);
    req.span?.retried(exceptionRepr(info));
    this.emit('task-retried', { uuid: req.id, exception: exceptionRepr(info), traceback: formatTraceback(reason) });
    if (this.storesErrors(req)) await this.recorder.store(req, RETRY, info, formatTraceback(reason), [child]);
    // The original message is done with: the retry is a new message (Celery acks it, also with acks_late).
    this.settle(req.ack(), req);
    if (hasHook(req, 'onRetry')) await this.hook(req, 'onRetry', reason, ctx);
    if (this.deps.app.signals.has('task_retry')) await this.signal('task_retry', { reason, ctx });
    return [RETRY, reason];
  }

  /**
   * The thread running the task died (celery/worker/request.py on_failure): never retried; with
   * acks_late and reject_on_worker_lost the message is requeued and nothing is stored, else FAILURE.
   */
  private async workerLost(req: Request, error: WorkerLostError, ctx: TaskContext): Promise<[string, unknown]> {
    const rejectOnLost = req.definition.options.reject_on_worker_lost ?? this.conf.task_reject_on_worker_lost;
    if (this.acksLate(req) && rejectOnLost) {
      this.deps.logger.error(`Task handler raised error: ${exceptionRepr(toExceptionInfo(error))}`);
      this.settle(req.reject(true), req);
      this.observer?.rejected(req);
      return ['REJECTED', error];
    }
    await this.fail(req, error, ctx, { traceback: null });
    return [FAILURE, error];
  }

  /**
   * Record FAILURE. `traceback: null` stores none, as Python does for what the worker raises
   * outside the task (a lost worker process); `rejected`: the caller settles the message (Reject).
   */
  private async fail(req: Request, error: unknown, ctx: TaskContext, how: { traceback?: null; rejected?: boolean } = {}): Promise<void> {
    const { task } = req;
    const info = toExceptionInfo(error);
    const traceback = formatTraceback(error);
    const stored = how.traceback === null ? null : traceback;
    if (!how.rejected) this.deps.logger.error(`${logLines.failed(req.displayName, task.id, exceptionRepr(info))}\n${traceback}`);
    this.observer?.failed(req, info.exc_type);
    req.span?.failed(error, error instanceof Error ? error.message : String(error));
    this.emit('task-failed', { uuid: task.id, exception: exceptionRepr(info), traceback: stored });
    if (this.storesErrors(req)) {
      await this.recorder.store(req, FAILURE, info, stored);
      // Waiters on later chain steps must see the failure too (celery/backends/base.py
      // `Backend.mark_as_failure` stores it under every remaining chain step's id).
      for (const step of task.embed.chain ?? []) {
        const stepId = step.options?.task_id;
        if (typeof stepId === 'string') await this.recorder.storeFor(stepId, FAILURE, info, stored);
      }
    }
    if (inChord(req)) await onChordPartReturn(this.deps.app, req, FAILURE, info, this.deps.logger);
    await publishErrbacks(this.deps.app, task, this.deps.logger);
    if (!how.rejected && this.acksLate(req)) this.settle(this.ackOnFailure(req) ? req.ack() : req.reject(false), req);
    if (hasHook(req, 'onFailure')) await this.hook(req, 'onFailure', error, ctx);
    if (this.deps.app.signals.has('task_failure')) await this.signal('task_failure', { taskId: task.id, exception: error, traceback, ctx });
  }

  /** Hard limit: FAILURE TimeLimitExceeded now; the message is acked, or requeued when the flag is off. */
  private async onHardLimit(req: Request, error: TimeLimitExceeded, ctx: TaskContext): Promise<void> {
    const info = toExceptionInfo(error);
    const traceback = formatTraceback(error);
    // celery/worker/request.py on_timeout: mark_as_failure(…, TimeLimitExceeded(timeout)) with no traceback.
    this.observer?.failed(req, info.exc_type);
    req.span?.failed(error, error instanceof Error ? error.message : String(error));
    this.emit('task-failed', { uuid: req.id, exception: exceptionRepr(info), traceback: null });
    if (this.storesErrors(req)) await this.recorder.store(req, FAILURE, info, null);
    if (inChord(req)) await onChordPartReturn(this.deps.app, req, FAILURE, info, this.deps.logger);
    if (this.acksLate(req)) this.settle(this.ackOnFailure(req) ? req.ack() : req.reject(true), req);
    if (hasHook(req, 'onFailure')) await this.hook(req, 'onFailure', error, ctx);
    if (this.deps.app.signals.has('task_failure')) await this.signal('task_failure', { taskId: req.id, exception: error, traceback, ctx });
  }

  private eventsOn(): boolean {
    return this.deps.taskEvents ? this.deps.taskEvents() : this.deps.emit !== undefined;
  }

  private emit(type: string, fields: Record<string, unknown>): void {
    this.deps.emit?.(type, fields);
  }

  private ackOnFailure(req: Request): boolean {
    return req.definition.options.acks_on_failure_or_timeout ?? this.conf.task_acks_on_failure_or_timeout;
  }

  /**
   * Callbacks (`link`) and the next chain step, published before SUCCESS is stored so `children`
   * is complete (celery/app/trace.py `build_tracer`).
   */
  private async publishFollowUps(req: Request, value: unknown): Promise<ResultTuple[]> {
    const { app, logger } = this.deps;
    const children = await publishCallbacks(app, req.task, value, logger);
    const next = await publishChainStep(app, req.task, value, logger);
    return next ? [...children, next] : children;
  }

  private context(req: Request, abort: TaskAbort): TaskContext {
    return new WorkerTaskContext(req.task, this.deps.hostname, req.delivery.info, abort, async (state, meta) => {
      await this.recorder.store(req, state, meta ?? null);
    });
  }

  private async hook<K extends 'onSuccess' | 'onFailure' | 'onRetry' | 'after'>(req: Request, name: K, ...args: unknown[]): Promise<void> {
    const fn = req.definition.options.hooks?.[name] as ((...a: unknown[]) => unknown) | undefined;
    if (!fn) return;
    try {
      await fn(...args);
    } catch (error) {
      this.deps.logger.error(`Task ${req.displayName}[${req.id}] ${name} hook raised: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async signal<K extends SignalName>(name: K, payload: SignalPayloads[K]): Promise<void> {
    for (const error of await this.deps.app.signals.send(name, payload)) {
      this.deps.logger.error(`Signal ${name} receiver raised: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Settle a message in the background; a broker error is logged, the message comes back later. */
  private settle(pending: Promise<void>, req: Request): void {
    pending.catch((error: unknown) =>
      this.deps.logger.error(`Could not settle message of task ${req.displayName}[${req.id}]: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}

const noLimits = (): void => {};

/** request.py `_announce_cancelled`: `Retry(message='cancelled by Celery')`, read back as celery.exceptions.Retry. */
const CANCELLED: ExceptionInfo = { exc_type: 'Retry', exc_message: ['cancelled by Celery'], exc_module: 'celery.exceptions' };

function hasHook(req: Request, name: 'onSuccess' | 'onFailure' | 'onRetry' | 'after'): boolean {
  return req.definition.options.hooks?.[name] !== undefined;
}

/** A chord header member (what onChordPartReturn acts on); checked first to spare the call. */
function inChord(req: Request): boolean {
  return !!req.task.embed.chord && !!req.task.group;
}

/** Whether `thrown` is the abort of `reason` (the reason itself, or an AbortError carrying it). */
function isAbortOf(thrown: unknown, reason: unknown): boolean {
  if (thrown === reason) return true;
  return thrown instanceof Error && thrown.name === 'AbortError' && (thrown.cause === reason || thrown.cause === undefined);
}
