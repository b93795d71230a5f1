// The worker: composes the app's transport, result backend and task registry into Celery's
// consume → decode → (ETA hold) → execute → record → ack pipeline (celery/worker/strategy.py
// `default`, celery/worker/request.py `Request`, celery/app/trace.py `build_tracer`).
import { availableParallelism } from 'node:os';
import type { Celery } from '../app.js';
import { redactor, secretsIn, type Redactor } from '../censor.js';
import { LamportClock } from '../control/clock.js';
import { RevokedSet } from '../control/revoked-set.js';
import { ConfigError, TaskRevokedError } from '../errors.js';
import { type Logger, redactingLogger, silentLogger } from '../log.js';
import { formatPythonIso } from '../protocol/iso-time.js';
import { parseTaskMessage, type TaskRequest } from '../protocol/task-message.js';
import { workerDirect } from '../routing.js';
import type { Consumer, Delivery, ExchangeType, TransportEvent } from '../transport/transport.js';
import { storeRetryPolicy } from '../backend/store-retry.js';
import { EtaHolder } from './eta-holder.js';
import type { WorkerUnderControl } from './control-adapter.js';
import { logLines } from './log-lines.js';
import { expandNodeName, formatForNode } from '../node-name.js';
import { AsyncPool } from './pools/async-pool.js';
import { inProcessExecutor, type TaskExecutor } from './pools/executor.js';
import { ThreadPool } from './pools/thread-pool.js';
import { Rejections } from './rejections.js';
import { RedeliveryGuard, type Settlement } from './redelivery-guard.js';
import { WorkerStateDb } from './state-db.js';
import { Request } from './request.js';
import { parseRate, RateLimiter } from './rate-limit.js';
import { WorkerRemoteControl } from './remote-control.js';
import type { TaskObserver } from './task-observer.js';
import { TaskAbort } from './task-abort.js';
import { TaskTracer } from './tracer.js';
import type { WorkerMetrics } from './worker-metrics.js';
import { ProbeServer, type ProbeStatus } from '../observe/probe-server.js';

/**
 * `-c` when neither the flag nor `worker_concurrency` sets it. Celery's rule (the number of cores)
 * fits processes and threads, each of which runs one task; the async pool runs every task on
 * one event loop, where a slot is only a bound on how many are awaited at once. `npm run bench`
 * (no-op and 20 ms I/O tasks, see README "Performance") puts the knee of the no-op curve near 50
 * and an I/O-bound task's throughput at ~concurrency / its latency: 100 serves both, and keeps the
 * prefetch window (×4) a few hundred messages.
 */
export const ASYNC_DEFAULT_CONCURRENCY = 100;

/** How often the state db is written when revoked ids changed (besides at shutdown). */
const STATE_DB_SAVE_MS = 5_000;

export function defaultConcurrency(pool: 'async' | 'threads'): number {
  return pool === 'async' ? ASYNC_DEFAULT_CONCURRENCY : availableParallelism();
}

export interface WorkerOptions {
  /** Queues to consume (`-Q`); default `task_default_queue`. */
  queues?: string[];
  /** Tasks run at once (`-c`); default `worker_concurrency`, else 100 (async pool) or the number of CPU cores (threads, as in Celery). */
  concurrency?: number;
  /** `worker_prefetch_multiplier` override. */
  prefetchMultiplier?: number;
  /** Node name template (`-n`), `celery@%h` by default. */
  nodeName?: string;
  /** Send task events (`-E`); default `worker_send_task_events`. */
  taskEvents?: boolean;
  /** Send worker heartbeats (default true; `--without-heartbeat` turns them off). */
  heartbeat?: boolean;
  /** Answer remote control (`celery inspect`, Flower); default `worker_enable_remote_control` (true). */
  remoteControl?: boolean;
  /** Sync revoked ids with other workers at start-up (default true; `--without-mingle`). */
  mingle?: boolean;
  /** Where tasks run (`-P`): on the worker's event loop (default) or in worker threads. */
  pool?: 'async' | 'threads';
  /** The `-A` spec of the tasks module; each thread of `pool: 'threads'` loads it. */
  appModule?: string;
  /** Threads pool: replace a thread after this many tasks (default `worker_max_tasks_per_child`). */
  maxTasksPerChild?: number;
  /** Threads pool: replace a thread holding more KiB after a task (default `worker_max_memory_per_child`). */
  maxMemoryPerChild?: number;
  /**
   * Serve `/metrics` (Prometheus), `/healthz` and `/readyz` on this port (`--metrics-port`);
   * default `worker_metrics_port`; null = off (prom-client is then never loaded). 0 picks a free port.
   */
  metricsPort?: number | null;
  /** Interface for the metrics port (default `worker_metrics_host`, else every interface). */
  metricsHost?: string;
  /** Keep revoked ids and the logical clock in this file across restarts (`--statedb`, formatted by the CLI); default `worker_state_db` with %n, %h… expanded. */
  stateDb?: string;
  logger?: Logger;
  now?: () => number;
}

/** Counters a worker keeps (reported by `inspect stats` later). */
export interface WorkerStats {
  processed: Record<string, number>;
  startedAt: number;
}

export class Worker implements WorkerUnderControl {
  readonly hostname: string;
  readonly queues: string[];
  /** Ids flagged by `revoke` (remote control): such a request is discarded, never run. */
  readonly revoked = new RevokedSet();
  /** The worker's Lamport clock (events, replies); kept across restarts with the state db. */
  readonly clock = new LamportClock();
  private readonly stateDb: WorkerStateDb | null;
  private stateDbTimer: NodeJS.Timeout | undefined;
  /** Time limits set at run time (`time_limit` control command), by task name. */
  readonly timeLimitOverrides = new Map<string, { soft: number | null; hard: number | null }>();
  readonly stats: WorkerStats;
  /** Runs the handlers: in-process (`async`) or the thread pool (`threads`). */
  readonly executor: TaskExecutor;
  /** Blanks the configured passwords out of a text (logs, pidbox replies, events); null = none configured. */
  readonly redact: Redactor | null;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly pool: AsyncPool;
  private readonly eta: EtaHolder;
  private readonly tracer: TaskTracer;
  private readonly rejections: Rejections;
  private basePrefetch: number;
  private readonly multiplier: number;
  private concurrencySlots: number;
  private readonly rateLimiter: RateLimiter<Request>;
  /** Tokens per second by task name (null = unlimited), parsed once; `setRateLimit` overrides. */
  private readonly rates = new Map<string, number | null>();
  private readonly reserved = new Set<Request>();
  private readonly active = new Map<Request, TaskAbort>();
  /** Redelivered copies of tasks run here on a lost connection are not run twice. */
  private readonly redeliveries = new RedeliveryGuard();
  private consumer: Consumer | undefined;
  /** Metrics, when on; every per-task call is behind this one null check. */
  private observer: TaskObserver | null = null;
  private metrics: WorkerMetrics | undefined;
  private probes: ProbeServer | undefined;
  private readonly metricsPort: number | null;
  private readonly metricsHost: string | undefined;
  /** False between a transport's `connection-lost` and its `reconnected`. */
  private brokerConnected = true;
  private remote: WorkerRemoteControl | undefined;
  private readonly remoteOptions: { enabled: boolean; taskEvents: boolean; heartbeat: boolean; mingle: boolean };
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopped: Promise<void> | undefined;
  private coldStopped: Promise<void> | undefined;
  /** Ends the soft shutdown's wait early (a further cold stop). */
  private endSoftShutdown: () => void = () => {};

  constructor(
    readonly app: Celery,
    options: WorkerOptions = {},
  ) {
    const conf = app.conf;
    const secrets = secretsIn({ ...conf, broker_url: app.brokerUrl });
    this.redact = secrets.length ? redactor(secrets) : null;
    this.logger = this.redact ? redactingLogger(options.logger ?? silentLogger, this.redact) : (options.logger ?? silentLogger);
    this.now = options.now ?? Date.now;
    this.hostname = expandNodeName(options.nodeName);
    this.queues = [...(options.queues?.length ? options.queues : [conf.task_default_queue])];
    // celery/worker/worker.py `setup_queues`: with worker_direct, `-Q` or not, its own queue too.
    if (conf.worker_direct) this.queues.push(workerDirect(this.hostname).queue);
    const stateDb = options.stateDb ?? (conf.worker_state_db && formatForNode(conf.worker_state_db, this.hostname));
    this.stateDb = stateDb ? new WorkerStateDb(stateDb, this.revoked, this.clock) : null;
    // Read before anything connects, as Celery's StateDB bootstep merges it at creation: a file
    // that is not ours stops the worker with one line.
    this.stateDb?.load();
    this.concurrencySlots = options.concurrency ?? conf.worker_concurrency ?? defaultConcurrency(options.pool ?? 'async');
    this.multiplier = options.prefetchMultiplier ?? conf.worker_prefetch_multiplier;
    // celery/worker/consumer/tasks.py: prefetch = concurrency × multiplier; 0 means unlimited.
    this.basePrefetch = this.concurrencySlots * this.multiplier;
    this.pool = new AsyncPool(this.concurrency);
    this.eta = new EtaHolder(this.now, {
      limit: conf.worker_eta_task_limit,
      giveBack: (req) => {
        this.logger.debug(`Task ${req.displayName}[${req.id}] goes back to the broker: worker_eta_task_limit (${conf.worker_eta_task_limit}) messages are held already`);
        this.updatePrefetch();
        void req.reject(true).catch(() => {});
      },
    });
    this.rateLimiter = new RateLimiter<Request>({
      now: this.now,
      maxWaiting: Math.max(1, this.basePrefetch || this.concurrency),
      release: (req) => (this.state === 'running' ? this.reserve(req) : void req.restore()),
      giveBack: (req) => {
        this.logger.debug(`Task ${req.displayName}[${req.id}] waits for its rate limit on the broker`);
        void req.reject(true).catch(() => {});
      },
      onHeldChange: () => this.updatePrefetch(),
    });
    this.rejections = new Rejections({ backend: () => app.backend, logger: this.logger, now: this.now, maxMessageSize: conf.worker_max_message_size, retryPolicy: storeRetryPolicy(conf) });
    this.stats = { processed: {}, startedAt: this.now() };
    this.metricsPort = options.metricsPort === undefined ? conf.worker_metrics_port : options.metricsPort;
    this.metricsHost = options.metricsHost ?? conf.worker_metrics_host ?? undefined;
    this.remoteOptions = {
      enabled: options.remoteControl ?? conf.worker_enable_remote_control,
      taskEvents: options.taskEvents ?? conf.worker_send_task_events,
      heartbeat: options.heartbeat ?? true,
      mingle: options.mingle ?? true,
    };
    if (options.pool === 'threads') {
      if (!options.appModule) throw new ConfigError('the threads pool needs appModule (the -A tasks module each thread loads)');
      this.executor = new ThreadPool({
        appModule: options.appModule,
        size: this.concurrencySlots,
        maxTasksPerChild: options.maxTasksPerChild ?? conf.worker_max_tasks_per_child,
        maxMemoryPerChild: options.maxMemoryPerChild ?? conf.worker_max_memory_per_child,
        logger: this.logger,
      });
    } else {
      this.executor = inProcessExecutor;
    }
    this.tracer = new TaskTracer({
      emit: (type, fields) => this.remote?.emit(type, fields),
      taskEvents: () => this.remote?.taskEvents === true,
      app,
      backend: app.backend,
      logger: this.logger,
      hostname: this.hostname,
      now: this.now,
      timeLimitOverrides: this.timeLimitOverrides,
      executor: this.executor,
    });
  }

  /** Tasks run at once (`-c`; changed at run time by pool_grow / pool_shrink). */
  get concurrency(): number {
    return this.concurrencySlots;
  }

  /** The prefetch window without the ETA/rate-limit allowance (0 = unlimited). */
  get prefetchCount(): number {
    return this.basePrefetch;
  }

  /** pool_grow / pool_shrink: resize the pool and the prefetch window with it. */
  resizePool(concurrency: number): void {
    this.concurrencySlots = Math.max(1, concurrency);
    this.basePrefetch = this.concurrencySlots * this.multiplier;
    this.pool.resize(this.concurrencySlots);
    this.executor.resize?.(this.concurrencySlots);
    this.updatePrefetch();
  }

  /** add_consumer: declare the queue (with the exchange, type and routing key given, for a new one) and consume it. */
  async addQueue(name: string, options: { exchange?: string | null; exchangeType?: ExchangeType | null; routingKey?: string | null } = {}): Promise<void> {
    if (this.queues.includes(name)) return;
    await this.app.transport.declareQueue(this.app.router.addQueue(name, options));
    if (this.queues.includes(name)) return;
    this.queues.push(name);
    this.consumer?.addQueue(name);
    this.logger.info(`Started consuming from ${name}`);
  }

  /** cancel_consumer: stop consuming a queue. */
  removeQueue(name: string): void {
    const index = this.queues.indexOf(name);
    if (index < 0) return;
    this.queues.splice(index, 1);
    this.consumer?.removeQueue(name);
  }

  /**
   * Terminate (revoke with terminate) the known requests among `ids`: a running one's signal is
   * aborted and its outcome recorded as REVOKED; a waiting one is discarded. Returns the ids acted on.
   */
  terminate(ids: readonly string[]): string[] {
    const wanted = new Set(ids);
    const acted: string[] = [];
    for (const [req, controller] of this.active) {
      if (!wanted.has(req.id)) continue;
      req.terminated = true;
      controller.abort(new TaskRevokedError('terminated'));
      acted.push(req.id);
    }
    for (const req of [...this.reserved, ...this.eta.requests()]) {
      if (wanted.has(req.id)) acted.push(req.id); // discarded when it would run (the revoked set)
    }
    return acted;
  }

  /** Requests fetched and waiting for a pool slot. */
  reservedRequests(): Request[] {
    return [...this.reserved];
  }

  /** Requests executing now. */
  activeRequests(): Request[] {
    return [...this.active.keys()];
  }

  /** Requests held for their ETA. */
  scheduledRequests(): Request[] {
    return this.eta.requests();
  }

  /** The port `/metrics`, `/healthz` and `/readyz` are served on (after start); undefined when off. */
  get metricsPortInUse(): number | undefined {
    return this.probes?.port;
  }

  /** `/readyz`: running, connected to the broker and consuming. */
  readiness(): ProbeStatus {
    if (this.state !== 'running') return { ok: false, detail: `worker ${this.hostname} is ${this.state}` };
    if (!this.brokerConnected) return { ok: false, detail: `worker ${this.hostname}: broker connection lost` };
    if (!this.consumer) return { ok: false, detail: `worker ${this.hostname}: not consuming yet` };
    return { ok: true, detail: `worker ${this.hostname}: consuming ${this.queues.join(', ')}` };
  }

  /** Load prom-client (only now, only when asked) and listen on the metrics port. */
  private async startProbes(port: number): Promise<void> {
    const { WorkerMetrics } = await import('./worker-metrics.js');
    const worker = this;
    const metrics = new WorkerMetrics(this.hostname, {
      get running() {
        return worker.state === 'running';
      },
      get activeCount() {
        return worker.active.size;
      },
      get reservedCount() {
        return worker.reserved.size + worker.rateLimiter.size;
      },
      get scheduledCount() {
        return worker.eta.size;
      },
      get prefetchWindow() {
        return worker.basePrefetch > 0 ? worker.basePrefetch + worker.eta.size + worker.rateLimiter.size : 0;
      },
      get concurrency() {
        return worker.concurrencySlots;
      },
    });
    this.metrics = metrics;
    this.observer = metrics;
    this.tracer.observer = metrics;
    this.probes = await ProbeServer.listen({ port, host: this.metricsHost, ready: () => this.readiness(), metrics: () => metrics.exposition() });
    this.logger.info(logLines.metricsServing(this.probes.port));
  }

  /** Declare the queues and start consuming. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('a worker can only be started once');
    if (this.metricsPort !== null) await this.startProbes(this.metricsPort);
    // Decided once: a tracer provider registered after this is not seen (register it first).
    this.tracer.tracing = await this.app.tracing();
    await this.executor.start?.();
    if (this.stateDb) this.stateDbTimer = setInterval(() => this.saveState(), STATE_DB_SAVE_MS).unref();
    this.state = 'running';
    if (this.app.unimplementedSettings.length) this.logger.warn(logLines.unimplementedSettings(this.app.unimplementedSettings));
    const transport = this.app.transport;
    transport.onEvent((event) => this.onTransportEvent(event));
    for (const queue of this.queues) await transport.declareQueue(this.app.router.queue(queue));
    await this.setUpDelayedDelivery();
    this.consumer = transport.consume(this.queues, { prefetch: this.basePrefetch, maxMessageSize: this.wireSizeLimit(), detectQuorumQueues: this.app.conf.worker_detect_quorum_queues }, (delivery) => this.onDelivery(delivery));
    if (this.remoteOptions.enabled) {
      this.remote = new WorkerRemoteControl(this, { ...this.remoteOptions, clock: this.clock, logger: this.logger, now: this.now });
      await this.remote.start();
    }
    this.logger.info(logLines.ready(this.hostname));
    await this.sendSignal('worker_ready');
  }

  /**
   * With a quorum queue among ours (RabbitMQ), bind our queues to kombu's native delayed delivery
   * exchanges, as celery/worker/consumer/delayed_delivery.py `DelayedDelivery.start` does (it is
   * included when `detect_quorum_queues` finds one); a failure is logged, not fatal, there too.
   */
  private async setUpDelayedDelivery(): Promise<void> {
    const transport = this.app.transport;
    if (!transport.bindNativeDelayedDelivery || !this.queues.some((q) => transport.isQuorum?.(q))) return;
    try {
      const skipped = await transport.bindNativeDelayedDelivery(
        this.queues.map((q) => this.app.router.queue(q)),
        this.app.conf.broker_native_delayed_delivery_queue_type,
      );
      for (const queue of skipped) this.logger.warn(logLines.delayedDeliveryDirect(queue));
    } catch (error) {
      this.logger.warn(logLines.delayedDeliveryFailed((error as Error).message));
    }
  }

  /**
   * Warm shutdown: stop fetching, give reserved and ETA-held messages back (front of their queues),
   * let running tasks finish. `cold` also aborts running tasks and gives back their unacked
   * messages — after the soft shutdown period (`worker_soft_shutdown_timeout`) if one is set,
   * which a second cold stop cuts short.
   */
  stop(options: { cold?: boolean } = {}): Promise<void> {
    if (options.cold) {
      if (this.coldStopped) {
        this.endSoftShutdown();
        return this.coldStopped;
      }
      const cutShort = new Promise<void>((resolve) => (this.endSoftShutdown = resolve));
      this.coldStopped = this.softShutdown(cutShort).then(() => this.coldStop());
      return this.coldStopped;
    }
    this.stopped ??= this.warmStop();
    return this.stopped;
  }

  /** Stop taking tasks and give back every message not running now (both shutdowns start so). */
  private async stopIntake(): Promise<void> {
    this.state = 'stopping';
    await this.consumer?.cancel();
    await this.giveBack([...this.reserved, ...this.eta.releaseAll(), ...this.rateLimiter.drain()]);
    this.pool.clearWaiting();
    this.reserved.clear();
  }

  /**
   * celery/worker/worker.py `wait_for_soft_shutdown`: with tasks running (or
   * `worker_enable_soft_shutdown_on_idle`), wait up to `worker_soft_shutdown_timeout` — a warm
   * shutdown with a deadline. Unlike Celery, which sleeps the whole period, the wait ends as soon
   * as the last task finishes, unless waiting on idle was asked for.
   */
  private async softShutdown(cutShort: Promise<void>): Promise<void> {
    const { worker_soft_shutdown_timeout: seconds, worker_enable_soft_shutdown_on_idle: onIdle } = this.app.conf;
    if (seconds <= 0 || (this.state !== 'running' && this.state !== 'stopping') || (this.active.size === 0 && !onIdle)) return;
    this.logger.warn(logLines.softShutdown(seconds));
    // After a warm shutdown began (SIGTERM, then SIGQUIT) nothing new is taken already.
    if (this.state === 'running') await this.stopIntake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (timer = setTimeout(resolve, seconds * 1000))),
      cutShort,
      ...(onIdle ? [] : [this.pool.onIdle()]),
    ]);
    clearTimeout(timer);
  }

  private async warmStop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      await this.executor.close();
      await this.app.close();
      await this.probes?.close();
      return;
    }
    this.logger.info(logLines.warmShutdown());
    await this.stopIntake();
    await this.pool.onIdle();
    await this.executor.close();
    await this.sendSignal('worker_shutdown');
    await this.remote?.stop();
    this.closeStateDb();
    await this.app.close();
    this.state = 'stopped';
    await this.probes?.close();
  }

  /** At shutdown: the state db written one last time, clock included (Celery's `Persistent.save` at exit). */
  private closeStateDb(): void {
    clearInterval(this.stateDbTimer);
    this.saveState({ force: true });
  }

  /** Write the state db if anything changed (every few seconds, and at shutdown); a failure is logged. */
  private saveState(options?: { force?: boolean }): void {
    try {
      this.stateDb?.save(options);
    } catch (error) {
      this.logger.error(`Could not save the worker state to ${this.stateDb!.path}: ${(error as Error).message}`);
    }
  }

  private async sendSignal(name: 'worker_ready' | 'worker_shutdown'): Promise<void> {
    for (const error of await this.app.signals.send(name, { hostname: this.hostname })) {
      this.logger.error(`Signal ${name} receiver raised: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async coldStop(): Promise<void> {
    this.logger.warn(logLines.coldShutdown());
    this.state = 'stopping';
    const cancelled = Promise.all([...this.active].map(([req, controller]) => this.tracer.cancel(req, controller, 'cold shutdown')));
    await this.consumer?.cancel();
    // Early-acked running tasks are gone from the broker; acks_late ones go back (kombu restores on close).
    await this.giveBack([...this.reserved, ...this.eta.releaseAll(), ...this.rateLimiter.drain(), ...[...this.active.keys()].filter((r) => r.unsettled)]);
    this.pool.clearWaiting();
    await cancelled;
    await this.remote?.stop().catch(() => {});
    this.closeStateDb();
    await this.app.close();
    await this.executor.close();
    this.state = 'stopped';
    await this.probes?.close();
  }

  private async giveBack(requests: Request[]): Promise<void> {
    const pending = requests.filter((r) => r.unsettled);
    await Promise.all(pending.map((r) => r.restore()));
    if (pending.length > 0) this.logger.info(logLines.restored(pending.length));
  }

  private onDelivery(delivery: Delivery): void {
    if (this.state !== 'running') {
      void delivery.restore();
      return;
    }
    let task: TaskRequest;
    try {
      task = parseTaskMessage(delivery.message, this.app.conf.accept_content, this.app.conf.worker_max_message_size ?? undefined);
    } catch (error) {
      void this.rejections.invalid(delivery, error);
      return;
    }
    const definition = this.app.tasks.get(task.name);
    if (!definition) {
      void this.rejections.unregistered(delivery, task);
      return;
    }
    const req = new Request(delivery, task, definition, this.now());
    // celery/worker/strategy.py: a revoked id is discarded before it is even announced as received.
    if (this.revoked.has(task.id)) {
      void this.tracer.revoke(req, 'revoked');
      return;
    }
    const earlier = this.redeliveries.copyOf(task.id, task.retries, delivery.info.redelivered);
    if (earlier) {
      void earlier.then((settlement) => this.settleCopy(req, settlement));
      return;
    }
    this.announce(req);
  }

  /**
   * A redelivered copy of a task this worker ran on a lost connection: settled as the earlier
   * run settled its message; run only if that run gave it back (or never settled it).
   */
  private settleCopy(req: Request, settlement: Settlement | null): void {
    if (this.state !== 'running') {
      void req.restore();
      return;
    }
    this.logger.warn(logLines.redeliveredCopy(req.displayName, req.id, settlement));
    if (settlement === 'ack') void req.ack();
    else if (settlement === 'reject') void req.reject(false);
    else this.announce(req);
  }

  private announce(req: Request): void {
    const task = req.task;
    if (this.logger.isEnabled('info')) this.logger.info(logLines.received(req.displayName, task.id));
    this.observer?.received(req);
    if (this.remote?.taskEvents) this.remote.emit('task-received', {
      uuid: task.id,
      name: req.displayName,
      args: task.argsrepr,
      kwargs: task.kwargsrepr,
      root_id: task.rootId,
      parent_id: task.parentId,
      retries: task.retries,
      eta: task.headers.eta,
      expires: task.headers.expires,
    });
    const now = this.now();
    if (task.expires && task.expires.getTime() <= now) {
      void this.tracer.revoke(req, 'expired');
    } else if (task.eta && task.eta.getTime() > now) {
      this.holdForEta(req, task.eta);
    } else {
      this.dispatch(req);
    }
  }

  /** Change a task's rate limit at run time (`rate_limit` control command); null removes it. */
  setRateLimit(taskName: string, rate: string | null): void {
    this.rates.set(taskName, parseRate(rate));
  }

  private rateFor(req: Request): number | null {
    if (this.app.conf.worker_disable_rate_limits) return null;
    const name = req.task.name;
    if (!this.rates.has(name)) {
      let rate: number | null = null;
      try {
        rate = parseRate(req.definition.options.rate_limit ?? this.app.conf.task_default_rate_limit);
      } catch (error) {
        this.logger.error(`Task ${name}: ${(error as Error).message}; running it without a rate limit`);
      }
      this.rates.set(name, rate);
    }
    return this.rates.get(name)!;
  }

  /** Runnable now: through the task's rate limit (if any), then to the pool. */
  private dispatch(req: Request): void {
    if (this.revoked.has(req.id)) {
      void this.tracer.revoke(req, 'revoked');
      return;
    }
    const rate = this.rateFor(req);
    if (rate === null) this.reserve(req);
    else this.rateLimiter.submit(req.task.name, rate, req);
  }

  private holdForEta(req: Request, eta: Date): void {
    const visibility = this.visibilityTimeoutSeconds();
    if (visibility !== null && eta.getTime() - this.now() > visibility * 1000) {
      this.logger.warn(logLines.etaBeyondVisibility(req.displayName, req.id, formatPythonIso(eta), visibility));
    }
    this.eta.hold(req, eta.getTime(), (due) => {
      this.updatePrefetch();
      if (this.state === 'running') this.dispatch(due);
    });
    this.updatePrefetch();
  }

  /** Celery raises the prefetch window by one for every held ETA message; we do so for rate-limited ones too. */
  private updatePrefetch(): void {
    if (this.basePrefetch > 0) this.consumer?.setPrefetch(this.basePrefetch + this.eta.size + this.rateLimiter.size);
  }

  /**
   * After a reconnect, messages fetched on the dead connection are back on the broker (RabbitMQ):
   * forget the ones not started yet, as Celery's consumer clears its buffers (`on_close`).
   */
  private dropStaleRequests(): void {
    const stale = [...this.reserved].filter((req) => req.delivery.stale);
    for (const req of stale) this.reserved.delete(req);
    stale.push(...this.eta.release((req) => req.delivery.stale === true));
    if (stale.length) {
      this.logger.warn(logLines.staleDropped(stale.length));
      this.updatePrefetch();
    }
  }

  private reserve(req: Request): void {
    this.reserved.add(req);
    this.pool.submit(async () => {
      if (!this.reserved.delete(req)) return; // given back during shutdown
      if (req.delivery.stale) return; // fetched on a lost connection: the broker delivers it again
      if (this.revoked.has(req.id)) return this.tracer.revoke(req, 'revoked');
      const controller = new TaskAbort();
      this.active.set(req, controller);
      const settled = this.redeliveries.started(req.id, req.task.retries);
      // celery/worker/state.py task_accepted: counted when execution starts (`inspect stats` total).
      this.stats.processed[req.task.name] = (this.stats.processed[req.task.name] ?? 0) + 1;
      try {
        await this.tracer.execute(req, controller);
      } finally {
        this.active.delete(req);
        settled(req.settlement);
      }
    });
  }

  /**
   * The transport's early, undecoded check: a Redis envelope carries the body in base64 (4/3 of
   * its bytes) beside headers, so it may be that much larger plus 1 MiB; the body itself is then
   * checked exactly (before and after decompression) by parseTaskMessage.
   */
  private wireSizeLimit(): number | undefined {
    const limit = this.app.conf.worker_max_message_size;
    return limit === null ? undefined : Math.ceil((limit * 4) / 3) + 1024 * 1024;
  }

  private onTransportEvent(event: TransportEvent): void {
    switch (event.type) {
      case 'message-too-large':
        void this.rejections.tooLarge(event);
        break;
      case 'connection-lost':
        this.brokerConnected = false;
        this.redeliveries.connectionLost();
        this.logger.error(logLines.connectionLost(event.error.message));
        if (this.app.conf.worker_cancel_long_running_tasks_on_connection_loss) this.cancelUnackable();
        break;
      case 'reconnected':
        this.brokerConnected = true;
        this.metrics?.brokerReconnected();
        this.logger.info(logLines.reconnected());
        this.dropStaleRequests();
        break;
      case 'message-dropped':
        void this.rejections.dropped(event);
        break;
      case 'restored':
        this.logger.info(logLines.restored(event.count));
        break;
    }
  }

  /**
   * celery/worker/consumer/consumer.py `on_connection_error_after_connected` with
   * `worker_cancel_long_running_tasks_on_connection_loss`: a running acks_late task's ack can no
   * longer reach the broker, which will deliver the message again (RabbitMQ at once, Redis after
   * the visibility timeout), so the run here is cancelled rather than left to run twice.
   */
  private cancelUnackable(): void {
    for (const [req, controller] of this.active) {
      if (!this.tracer.acksLate(req) || req.acknowledged) continue;
      this.logger.warn(logLines.cancelledOnConnectionLoss(req.displayName, req.id));
      void this.tracer.cancel(req, controller, 'connection lost');
    }
  }

  private visibilityTimeoutSeconds(): number | null {
    if (!/^(redis|rediss|redis\+socket|unix):/.test(this.app.brokerUrl)) return null;
    const value = this.app.conf.broker_transport_options.visibility_timeout;
    return typeof value === 'number' ? value : 3600;
  }
}
