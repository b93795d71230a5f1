// Runs one task and records what happened, as celery/app/trace.py does: STARTED (when tracked),
// the handler, SUCCESS with callbacks and the next chain step published first (so `children` is
// complete), or FAILURE with the traceback, propagated to the rest of the chain and to errbacks.
// Control-flow errors (Reject, Ignore) are matched here, by class, and nowhere else.
import type { Celery } from '../app.js';
import type { ResultBackend } from '../backend/result-backend.js';
import { EncodeError, Ignore, Reject, TaskRevokedError } from '../errors.js';
import type { Logger } from '../log.js';
import { exceptionRepr, formatTraceback, toExceptionInfo } from '../protocol/exceptions.js';
import { argsRepr } from '../protocol/repr.js';
import { buildTaskMeta, type ResultTuple, type TaskMeta } from '../protocol/result-meta.js';
import { FAILURE, REVOKED, STARTED, SUCCESS } from '../protocol/states.js';
import type { TaskContext } from '../registry/task-definition.js';
import { publishCallbacks, publishChainStep, publishErrbacks } from './canvas-dispatch.js';
import { logLines } from './log-lines.js';
import type { Request } from './request.js';

export interface TracerDeps {
  app: Celery;
  backend: ResultBackend | null;
  logger: Logger;
  hostname: string;
  now: () => number;
}

export class TaskTracer {
  constructor(private readonly deps: TracerDeps) {}

  private get conf() {
    return this.deps.app.conf;
  }

  acksLate(req: Request): boolean {
    return req.definition.options.acks_late ?? this.conf.task_acks_late;
  }

  private ignoresResult(req: Request): boolean {
    return req.task.ignoreResult || (req.definition.options.ignore_result ?? this.conf.task_ignore_result);
  }

  /** Run the request's task to completion (never throws). */
  async execute(req: Request, signal: AbortSignal): Promise<void> {
    const { task, definition } = req;
    if (task.expires && task.expires.getTime() <= this.deps.now()) return this.revoke(req, 'expired');
    const acksLate = this.acksLate(req);
    if (!acksLate) this.settle(req.ack(), req);
    req.startedAt = this.deps.now();
    const ignoreResult = this.ignoresResult(req);
    if ((definition.options.track_started ?? this.conf.task_track_started) && !ignoreResult) {
      await this.store(req, STARTED, { pid: process.pid, hostname: this.deps.hostname });
    }
    const ctx = this.context(req, signal);
    const started = performance.now();
    let value: unknown;
    try {
      value = await this.deps.app.currentTask.run(ctx, () => definition.run(task.args, task.kwargs, ctx));
    } catch (error) {
      await this.onError(req, error, acksLate, ignoreResult);
      return;
    }
    const runtime = (performance.now() - started) / 1000;
    if (value === undefined) value = null;
    const children = await this.publishFollowUps(req, value);
    if (!ignoreResult) {
      const encodeError = await this.store(req, SUCCESS, value, null, children);
      if (encodeError) return this.onError(req, encodeError, acksLate, ignoreResult);
    }
    if (this.deps.logger.isEnabled('info')) {
      this.deps.logger.info(logLines.succeeded(req.displayName, task.id, runtime, argsRepr(value)));
    }
    if (acksLate) this.settle(req.ack(), req);
  }

  /** Discard a revoked or expired request: ack, store REVOKED, log. */
  async revoke(req: Request, reason: 'revoked' | 'expired'): Promise<void> {
    this.settle(req.ack(), req);
    this.deps.logger.info(reason === 'expired' ? logLines.expired(req.displayName, req.id) : logLines.revoked(req.displayName, req.id));
    if (!this.ignoresResult(req)) {
      const error = new TaskRevokedError(reason);
      await this.store(req, REVOKED, toExceptionInfo(error), null);
    }
  }

  private async onError(req: Request, error: unknown, acksLate: boolean, ignoreResult: boolean): Promise<void> {
    const { task } = req;
    if (error instanceof Reject) {
      this.deps.logger.info(logLines.rejected(req.displayName, task.id, error.reason || 'rejected by the task'));
      this.settle(req.reject(error.requeue), req);
      return;
    }
    if (error instanceof Ignore) {
      this.deps.logger.info(logLines.ignored(req.displayName, task.id));
      this.settle(req.ack(), req);
      return;
    }
    const info = toExceptionInfo(error);
    const traceback = formatTraceback(error);
    this.deps.logger.error(`${logLines.failed(req.displayName, task.id, exceptionRepr(info))}\n${traceback}`);
    if (!ignoreResult) {
      await this.store(req, FAILURE, info, traceback);
      // celery-wire.md §10.5: waiters on later chain steps must see the failure too.
      for (const step of task.embed.chain ?? []) {
        const stepId = step.options?.task_id;
        if (typeof stepId === 'string') await this.storeFor(stepId, FAILURE, info, traceback);
      }
    }
    await publishErrbacks(this.deps.app, task, this.deps.logger);
    if (acksLate) {
      this.settle(this.conf.task_acks_on_failure_or_timeout ? req.ack() : req.reject(false), req);
    }
  }

  /** Callbacks (`link`) and the next chain step, published before SUCCESS is stored (§10.1 step 8). */
  private async publishFollowUps(req: Request, value: unknown): Promise<ResultTuple[]> {
    const children: ResultTuple[] = [];
    const { app, logger } = this.deps;
    children.push(...(await publishCallbacks(app, req.task, value, logger)));
    const next = await publishChainStep(app, req.task, value, logger);
    if (next) children.push(next);
    return children;
  }

  private context(req: Request, signal: AbortSignal): TaskContext {
    const { task } = req;
    return {
      id: task.id,
      name: task.name,
      retries: task.retries,
      headers: task.headers,
      rootId: task.rootId,
      parentId: task.parentId,
      group: task.group,
      eta: task.eta,
      expires: task.expires,
      hostname: this.deps.hostname,
      deliveryInfo: req.delivery.info,
      request: task,
      signal,
      updateState: async (state, meta) => {
        await this.store(req, state, meta ?? null);
      },
    };
  }

  /** Store a state for the request; resolves to the encoding error when the value can't be JSON. */
  private async store(
    req: Request,
    status: string,
    result: unknown,
    traceback: string | null = null,
    children: ResultTuple[] = [],
  ): Promise<Error | undefined> {
    const { task } = req;
    const extended = this.conf.result_extended
      ? {
          name: task.name,
          args: task.args,
          kwargs: task.kwargs,
          worker: this.deps.hostname,
          retries: task.retries,
          queue: req.delivery.info.routingKey,
        }
      : undefined;
    const meta = buildTaskMeta({
      taskId: task.id,
      status,
      result,
      traceback,
      children,
      dateDone: new Date(this.deps.now()),
      groupId: task.group,
      parentId: task.parentId,
      extended,
    });
    return this.write(meta, req.displayName, task.id);
  }

  private async storeFor(taskId: string, status: string, result: unknown, traceback: string | null): Promise<void> {
    await this.write(buildTaskMeta({ taskId, status, result, traceback, dateDone: new Date(this.deps.now()) }), taskId, taskId);
  }

  private async write(meta: TaskMeta, name: string, id: string): Promise<Error | undefined> {
    const backend = this.deps.backend;
    if (!backend) return undefined;
    try {
      await backend.storeResult(meta);
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) {
        // JSON.stringify refused the value (BigInt, cycle): like Celery, store an EncodeError instead.
        return new EncodeError(`the result of ${name}[${id}] is not JSON-serializable: ${error.message}`);
      }
      this.deps.logger.error(logLines.resultStoreFailed(name, id, error instanceof Error ? error.message : String(error)));
    }
    return undefined;
  }

  /** Settle a message in the background; a broker error is logged, the message comes back later. */
  private settle(pending: Promise<void>, req: Request): void {
    pending.catch((error: unknown) =>
      this.deps.logger.error(`Could not settle message of task ${req.displayName}[${req.id}]: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}
