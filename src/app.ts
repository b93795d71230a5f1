// The Celery app: configuration, lazily created broker transport and result backend, and the
// producer (`sendTask`) that builds protocol-2 messages exactly as Python's send_task does.
import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import type { z } from 'zod';
import { BACKEND_CLEANUP_TASK } from './backend/cleanup.js';
import { createBackend } from './backend/index.js';
import { applyFrozen, CHORD_UNLOCK_TASK, finalId, freeze } from './canvas/apply-signature.js';
import { chordUnlockOptions, unlockArguments, unlockChord } from './canvas/chord-unlock.js';
import { ACCUMULATE_TASK, accumulateResults } from './canvas/replace.js';
import { type GroupSignature, isGroup } from './canvas/signatures.js';
import type { ResultBackend } from './backend/result-backend.js';
import { type CeleryConfig, loadConfig, unimplementedSettings } from './config.js';
import { ConfigError } from './errors.js';
import { newId } from './protocol/ids.js';
import type { Message } from './protocol/message.js';
import type { ResultTuple } from './protocol/result-meta.js';
import type { Signature } from './protocol/task-message.js';
import { buildTaskMessage } from './protocol/task-message.js';
import { CeleryTracing } from './observe/celery-tracing.js';
import { definePositionalTask, defineSpecTask, type PositionalHandler } from './registry/define-task.js';
import type { TaskContext, TaskInput, TaskSpec } from './registry/task-definition.js';
import { attachHandleMethods, localContext, type TaskHandleMethods } from './registry/task-handle.js';
import { annotationsFor } from './registry/task-annotations.js';
import { TaskRegistry } from './registry/task-registry.js';
import { AsyncResult, GroupResult } from './result.js';
import { type Route, Router } from './routing.js';
import type { SendTaskOptions } from './send-task-options.js';
import { Signals } from './signals.js';
import { ControlClient } from './control/control-client.js';
import { createTransport } from './transport/index.js';
import { calculateRoutingKey, levelName, MAX_LEVEL } from './transport/amqp/native-delayed-delivery.js';
import type { PublishTarget, Transport } from './transport/transport.js';

/** Collaborators that tests and the embedded demo inject instead of URLs. */
export interface AppDependencies {
  transport?: Transport;
  backend?: ResultBackend | null;
  now?: () => Date;
}

/** Used when neither the config nor CELERY_BROKER_URL names a broker: the in-process transport. */
export const EMBEDDED_BROKER_URL = 'memory://';

/**
 * A Celery application.
 * @example
 * const app = new Celery({ broker_url: 'redis://localhost:6379/0', result_backend: 'redis://localhost:6379/0' });
 * const result = await app.sendTask('reports.render', [42]);
 * console.log(await result.get({ timeout: 10 }));
 */
export class Celery {
  readonly conf: CeleryConfig;
  readonly router: Router;
  /** The producer's node name, `gen<pid>@<host>` as Python writes `origin`. */
  readonly origin = `gen${process.pid}@${hostname()}`;
  /** The producer id Celery puts in `reply_to`. */
  readonly oid = newId();
  private transportInstance: Transport | undefined;
  private backendInstance: ResultBackend | null | undefined;
  private controlInstance: ControlClient | undefined;
  /** The tasks this app can run, by name. */
  readonly tasks = new TaskRegistry();
  /** Celery's signals (task_prerun, task_success, worker_ready, …), sent by the worker. */
  readonly signals = new Signals();
  /** The task running in the current async context (set by the worker); gives sendTask its parent. */
  readonly currentTask = new AsyncLocalStorage<TaskContext>();
  private readonly declared = new Set<string>();
  private readonly now: () => Date;
  /** Celery settings the config carries that ts-celery accepts but does not implement (logged by the worker and beat). */
  readonly unimplementedSettings: readonly string[];

  constructor(config: Record<string, unknown> = {}, private readonly deps: AppDependencies = {}) {
    this.conf = loadConfig(config);
    this.unimplementedSettings = unimplementedSettings(config);
    // Celery's built-in body of a group that replaced a task (canvas/replace.ts).
    this.task({ name: ACCUMULATE_TASK }, ({ args, kwargs }) => accumulateResults(args, kwargs.index));
    // Celery's built-in join of a chord on a backend without a chord counter (canvas/chord-unlock.ts).
    this.task({ name: CHORD_UNLOCK_TASK, ...chordUnlockOptions(this) }, ({ args, kwargs, ctx }) => unlockChord(this, unlockArguments(args, kwargs), ctx));
    // Celery's built-in deletion of expired results, sent daily by beat (backend/cleanup.ts).
    this.task({ name: BACKEND_CLEANUP_TASK }, async () => {
      await this.backend?.cleanup?.();
      return null;
    });
    this.router = new Router(this.conf);
    this.now = deps.now ?? (() => new Date());
    this.transportInstance = deps.transport;
    this.backendInstance = deps.backend;
  }

  /** The broker URL in use (the embedded memory transport when none is configured). */
  get brokerUrl(): string {
    return this.conf.broker_url ?? EMBEDDED_BROKER_URL;
  }

  /** The broker transport, connected on first use. */
  get transport(): Transport {
    this.transportInstance ??= createTransport(this.brokerUrl, this.conf.broker_transport_options, {
      failoverStrategy: this.conf.broker_failover_strategy ?? 'round-robin',
      useSsl: this.conf.broker_use_ssl,
      heartbeat: this.conf.broker_heartbeat,
    });
    return this.transportInstance;
  }

  /** The result backend, or null when `result_backend` is not set. */
  get backend(): ResultBackend | null {
    if (this.backendInstance === undefined) {
      const prefix = this.conf.result_backend_transport_options.global_keyprefix;
      if (prefix !== undefined && typeof prefix !== 'string') {
        throw new ConfigError(`result_backend_transport_options.global_keyprefix must be a string, got ${JSON.stringify(prefix)}`);
      }
      const { master_name: masterName, sentinel_kwargs: sentinelKwargs } = this.conf.result_backend_transport_options;
      this.backendInstance = createBackend(this.conf.result_backend, {
        resultExpires: this.conf.result_expires,
        keyPrefix: prefix,
        masterName: typeof masterName === 'string' ? masterName : undefined,
        sentinelKwargs: sentinelKwargs && typeof sentinelKwargs === 'object' ? (sentinelKwargs as Record<string, unknown>) : undefined,
        useSsl: this.conf.redis_backend_use_ssl,
        socketTimeout: this.conf.redis_socket_timeout,
        socketConnectTimeout: this.conf.redis_socket_connect_timeout,
        socketKeepalive: this.conf.redis_socket_keepalive,
        databaseUrl: this.conf.database_url,
        tableNames: this.conf.database_table_names,
        tableSchemas: this.conf.database_table_schemas,
      }, { transport: () => this.transport, replyQueue: this.oid, persistent: this.conf.result_persistent ?? false, expires: this.conf.result_expires });
    }
    return this.backendInstance;
  }

  /**
   * Register a task whose positional args are spread into `fn`; inside a `function`, `this` is the
   * TaskContext. Returns `fn` itself (still callable directly) with `delay`/`applyAsync`/`s`.
   * @example export const add = app.task('tasks.add', (a: number, b: number) => a + b);
   */
  task<F extends PositionalHandler>(name: string, fn: F): F & TaskHandleMethods<Parameters<F>, Record<string, never>, Awaited<ReturnType<F>>>;
  /**
   * Register a task with Celery options and zod schemas; the handler receives `{ args, kwargs, ctx }`.
   * With `params`, Python callers may pass those arguments positionally or by keyword.
   * @example
   * export const render = app.task(
   *   { name: 'reports.render', params: ['report_id', 'format'],
   *     kwargs: z.object({ report_id: z.number().int(), format: z.enum(['pdf', 'csv']).default('pdf') }) },
   *   async ({ kwargs, ctx }) => { await ctx.updateState('PROGRESS', { done: 0 }); return renderReport(kwargs.report_id, kwargs.format); });
   */
  task<A extends z.ZodType = z.ZodType<unknown[]>, K extends z.ZodType = z.ZodType<Record<string, unknown>>, R = unknown>(
    spec: TaskSpec<A, K>,
    handler: (input: TaskInput<z.output<A>, z.output<K>>) => R | Promise<R>,
  ): ((args?: z.input<A>, kwargs?: Partial<z.input<K>>) => Promise<Awaited<R>>) &
    TaskHandleMethods<z.input<A> & unknown[], Partial<z.input<K>>, Awaited<R>>;
  task(nameOrSpec: string | TaskSpec, fn: (...a: never[]) => unknown): unknown {
    const send = this.sendTask.bind(this);
    if (typeof nameOrSpec === 'string') {
      const definition = definePositionalTask(nameOrSpec, fn as PositionalHandler, annotationsFor(nameOrSpec, this.conf.task_annotations));
      this.tasks.register(definition);
      return attachHandleMethods(fn, definition, send);
    }
    const spec = Object.assign({}, nameOrSpec, annotationsFor(nameOrSpec.name, this.conf.task_annotations));
    const definition = defineSpecTask(spec, fn as (input: TaskInput<unknown, unknown>) => unknown);
    this.tasks.register(definition);
    const call = (args: unknown[] = [], kwargs: Record<string, unknown> = {}) =>
      definition.run(args, kwargs, localContext(definition.name, args, kwargs));
    return attachHandleMethods(call, definition, send);
  }

  /**
   * Remote control of the fleet, Python workers included (Python's `app.control`).
   * @example const replies = await app.control.inspect('active', {}, { timeout: 1 });
   * @example await app.control.revoke(taskId, { terminate: true });
   */
  get control(): ControlClient {
    this.controlInstance ??= new ControlClient(this.transport, { namespace: this.conf.control_exchange, oid: this.oid });
    return this.controlInstance;
  }

  /**
   * A group saved with `GroupResult.save()` — here or in Python — by its id; null when none is stored.
   * @example const group = await app.restoreGroup(groupId); await group?.get({ timeout: 10 });
   */
  async restoreGroup<T = unknown>(groupId: string): Promise<GroupResult<T> | null> {
    const backend = this.backend;
    if (!backend) throw new ConfigError('restoreGroup needs a result backend (set result_backend)');
    const saved = await backend.restoreGroup(groupId);
    return saved ? this.groupResult<T>(groupId, saved[1] ?? []) : null;
  }

  /** A GroupResult over the members' result tuples. */
  private groupResult<T>(groupId: string, members: ResultTuple[]): GroupResult<T> {
    return new GroupResult<T>(groupId, members.map(([[memberId]]) => this.AsyncResult<T>(memberId)), () => this.backend);
  }

  /** A handle on a task's result by id. */
  AsyncResult<T = unknown>(id: string): AsyncResult<T> {
    return new AsyncResult<T>(id, () => this.backend, () => this.control);
  }

  /**
   * Send a task by name, as Python's `app.send_task(name, args, kwargs, **options)`.
   * @example await app.sendTask('training.tasks.train_hourly_batch_task', [], { model: 'v2' }, { queue: 'training_batch' });
   */
  async sendTask<T = unknown>(
    name: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: SendTaskOptions = {},
  ): Promise<AsyncResult<T>> {
    if (!Array.isArray(args)) throw new TypeError(`sendTask(${name}): args must be an array`);
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new TypeError(`sendTask(${name}): kwargs must be an object`);
    }
    const id = options.task_id ?? newId();
    const now = this.now();
    // Inside a running task, the new task is its child (celery/app/base.py `Celery.send_task`:
    // root_id and parent_id default from `current_worker_task`).
    const parent = this.currentTask.getStore();
    const route = this.router.route(name, args, kwargs, options);
    const eta = options.countdown !== undefined ? new Date(now.getTime() + options.countdown * 1000) : toDate(options.eta, 'eta');
    const message = buildTaskMessage({
      id,
      task: name,
      args,
      kwargs,
      eta,
      expires: typeof options.expires === 'number' ? new Date(now.getTime() + options.expires * 1000) : toDate(options.expires, 'expires'),
      shadow: options.shadow ?? null,
      group: options.group_id ?? null,
      groupIndex: options.group_index ?? null,
      retries: options.retries ?? 0,
      timeLimit: options.time_limit ?? null,
      softTimeLimit: options.soft_time_limit ?? null,
      rootId: options.root_id ?? parent?.rootId ?? parent?.id ?? id,
      parentId: options.parent_id ?? parent?.id ?? null,
      argsrepr: options.argsrepr,
      kwargsrepr: options.kwargsrepr,
      ignoreResult: options.ignore_result ?? this.conf.task_ignore_result,
      callbacks: asList(options.link),
      errbacks: asList(options.link_error),
      chain: options.chain ?? null,
      chord: options.chord ?? null,
      replacedTaskNesting: options.replaced_task_nesting,
      headers: options.headers,
      priority: route.priority,
      replyTo: this.oid,
      origin: this.origin,
      compression: options.compression ?? this.conf.task_compression ?? undefined,
      now,
    });
    const delaySeconds = eta ? (eta.getTime() - now.getTime()) / 1000 : 0;
    if (CeleryTracing.registered() && (this.tracingInstance ??= await CeleryTracing.load())) {
      // opentelemetry-instrumentation-celery `_trace_before_publish`: the span's context goes into the message headers.
      await this.tracingInstance.producer(name, producerSpanAttributes(id, name, route), message.headers, () => this.publishMessage(message, route, delaySeconds));
    } else {
      await this.publishMessage(message, route, delaySeconds);
    }
    return this.AsyncResult<T>(id);
  }

  private async publishMessage(message: Message, route: Route, delaySeconds: number): Promise<void> {
    const transport = this.transport;
    if (route.queue && !this.declared.has(route.queue.name)) {
      await transport.declareQueue(route.queue);
      this.declared.add(route.queue.name);
    }
    if (!message.headers.ignore_result) await this.backend?.prepareReplies?.();
    await transport.publish(message, (await this.delayedTarget(route, delaySeconds)) ?? route.target);
  }

  /** The OpenTelemetry bridge once a tracer provider was seen (null: `@opentelemetry/api` is not installed). */
  private tracingInstance: CeleryTracing | null | undefined;

  /** @internal The tracing bridge for the worker: null unless a tracer provider is registered. */
  async tracing(): Promise<CeleryTracing | null> {
    if (!CeleryTracing.registered()) return null;
    return (this.tracingInstance ??= await CeleryTracing.load());
  }

  /**
   * Where a countdown/ETA task goes through RabbitMQ's native delayed delivery, as
   * celery/app/base.py `Celery.send_task` does when quorum queues are in use: to
   * `celery_delayed_27` with kombu's `calculate_routing_key` (whole seconds), when the target
   * queue is quorum and its exchange is not direct (the delivery exchange reaches a queue through
   * its exchange, which a direct one cannot do for the `#.<key>` pattern). Null: publish as usual
   * and the worker holds the message until its ETA.
   */
  private async delayedTarget(route: Route, delaySeconds: number): Promise<PublishTarget | null> {
    const transport = this.transport;
    const queue = route.queue;
    const seconds = Math.trunc(delaySeconds);
    if (seconds < 1 || !queue || !transport.declareNativeDelayedDelivery) return null;
    if (!(this.router.isQuorum(queue.name) || transport.isQuorum?.(queue.name))) return null;
    if ((queue.exchangeType ?? 'direct') === 'direct') return null;
    await transport.declareNativeDelayedDelivery(this.conf.broker_native_delayed_delivery_queue_type);
    return { exchange: levelName(MAX_LEVEL), routingKey: calculateRoutingKey(seconds, queue.routingKey ?? queue.name), exchangeType: 'topic' };
  }

  /**
   * Send a signature — a task's `s()`, or a `group`, `chain` or `chord` of them — as Python's
   * `sig.apply_async(**options)`: a group gives its GroupResult, anything else the AsyncResult of
   * what finishes last (a chain's last step, a chord's body).
   * @example const total = await (await app.applyAsync(chord([add.s([1, 1]), add.s([2, 2])], tsum.s()))).get();
   */
  async applyAsync<T = unknown>(sig: GroupSignature, options?: SendTaskOptions): Promise<GroupResult<T>>;
  async applyAsync<T = unknown>(sig: Signature, options?: SendTaskOptions): Promise<AsyncResult<T>>;
  async applyAsync<T = unknown>(sig: Signature, options: SendTaskOptions = {}): Promise<AsyncResult<T> | GroupResult<T>> {
    const frozen = freeze(sig);
    const [[id], children] = await applyFrozen(this, frozen, { options });
    if (isGroup(frozen)) return this.groupResult<T>(id, children ?? []);
    return this.AsyncResult<T>(finalId(frozen));
  }

  /**
   * Verify the broker (and the result backend, when configured) answer; rejects with a one-line
   * TransportError naming the server otherwise. The CLI calls it before serving.
   */
  async connect(timeoutMs = 10_000): Promise<void> {
    await Promise.all([this.transport.connect(timeoutMs), this.backend?.connect(timeoutMs)]);
  }

  /** Close the broker and backend connections (restoring any unsettled deliveries). */
  async close(): Promise<void> {
    await this.controlInstance?.close();
    await Promise.all([this.transportInstance?.close(), this.backendInstance?.close()]);
  }
}

function asList(value: Signature | Signature[] | undefined): Signature[] | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value : [value];
}

function toDate(value: Date | string | undefined, field: string): Date | null {
  if (value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new TypeError(`${field} must be a valid date, got ${JSON.stringify(value)}`);
  return date;
}

/**
 * opentelemetry-instrumentation-celery's attributes on an `apply_async/<task>` span, from what
 * `before_task_publish` gets: the exchange (when named), the routing key, and the kind of the
 * queue declared for it (`declare`: a direct exchange's queue is a "queue", a topic's a "topic").
 */
function producerSpanAttributes(id: string, name: string, route: Route): Record<string, string> {
  const attributes: Record<string, string> = { 'celery.action': 'apply_async', 'messaging.message.id': id, 'celery.task_name': name };
  if (route.target.exchange) attributes['celery.exchange'] = route.target.exchange;
  attributes['messaging.destination'] = route.target.routingKey;
  const kind = route.queue ? (route.queue.exchangeType ?? 'direct') : null;
  if (kind === 'direct' || kind === 'topic') attributes['messaging.destination_kind'] = kind === 'direct' ? 'queue' : 'topic';
  return attributes;
}
