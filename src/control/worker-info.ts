// The JSON shapes inspect replies carry, with Celery's key order, and builders so a worker fills
// them without knowing the order (celery/worker/request.py `Request.info`, kombu/entity.py
// `Queue.as_dict`, celery/worker/worker.py `WorkController.stats`).

/** One request as `active`, `reserved`, `scheduled` and `query_task` report it (`Request.info`). */
export interface RequestInfo {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  type: string;
  hostname: string;
  /** Epoch seconds when execution started; null until then. */
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number; redelivered: boolean | null };
  /** The executing process; null until execution starts. */
  worker_pid: number | null;
}

/** A request held for its ETA; the command adds the timer priority. */
export interface ScheduledRequest {
  /** ISO 8601 with offset (`datetime.isoformat()`), or null. */
  eta: string | null;
  request: RequestInfo;
}

/** What the worker knows for `stats` (control adds `pid`, `clock` and `rusage`). */
export interface WorkerStatsInfo {
  /** Tasks accepted, by name, in first-seen order. */
  total: Record<string, number>;
  /** Whole seconds since start. */
  uptime: number;
  /** The pool description (see `poolInfo`). */
  pool: Record<string, unknown>;
  /** The broker connection description (see `brokerInfo`). */
  broker: Record<string, unknown>;
  prefetch_count: number;
}

/** `kombu.Queue.as_dict(recurse=True)` of a plain queue (the `active_queues` entries). */
export type QueueInfo = Record<string, unknown>;

/** A RequestInfo in Celery's key order; `time_start` in epoch ms is converted to seconds. */
export function requestInfo(fields: {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  hostname: string;
  startedAtMs: number | null;
  acknowledged: boolean;
  exchange: string;
  routingKey: string;
  priority: number;
  redelivered: boolean | null;
  workerPid: number | null;
}): RequestInfo {
  return {
    id: fields.id,
    name: fields.name,
    args: fields.args,
    kwargs: fields.kwargs,
    type: fields.name,
    hostname: fields.hostname,
    time_start: fields.startedAtMs === null ? null : fields.startedAtMs / 1000,
    acknowledged: fields.acknowledged,
    delivery_info: { exchange: fields.exchange, routing_key: fields.routingKey, priority: fields.priority, redelivered: fields.redelivered },
    worker_pid: fields.workerPid,
  };
}

/** `pidbox-inspect-active_queues` *(fx)*: a durable queue on a durable exchange. */
export function queueInfo(spec: { name: string; exchange?: string; exchangeType?: string; routingKey?: string }): QueueInfo {
  const exchange = spec.exchange ?? spec.name;
  return {
    name: spec.name,
    exchange: { name: exchange, type: spec.exchangeType ?? 'direct', arguments: null, durable: true, passive: false, auto_delete: false, delivery_mode: null, no_declare: false },
    routing_key: spec.routingKey ?? spec.name,
    queue_arguments: null,
    binding_arguments: null,
    consumer_arguments: null,
    durable: true,
    exclusive: false,
    auto_delete: false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: null,
    message_ttl: null,
    max_length: null,
    max_length_bytes: null,
    max_priority: null,
  };
}

/** The `pool` part of `stats`, in Celery's key order. */
export function poolInfo(fields: { implementation: string; maxConcurrency: number; processes: number[]; maxTasksPerChild: number | null }): Record<string, unknown> {
  return {
    implementation: fields.implementation,
    'max-concurrency': fields.maxConcurrency,
    processes: fields.processes,
    'max-tasks-per-child': fields.maxTasksPerChild,
    'put-guarded-by-semaphore': false,
    timeouts: [],
  };
}

/** The `broker` part of `stats` from a broker URL (kombu `Connection.info()`; no password). */
export function brokerInfo(url: string, transportOptions: Record<string, unknown> = {}): Record<string, unknown> {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  const scheme = parsed?.protocol.replace(/:$/, '') ?? url.split(':')[0] ?? '';
  const transport = scheme === 'rediss' || scheme === 'redis+socket' ? 'redis' : scheme;
  const db = parsed?.pathname.replace(/^\//, '') ?? '';
  return {
    hostname: parsed?.hostname || null,
    userid: parsed?.username ? decodeURIComponent(parsed.username) : null,
    virtual_host: db || (transport === 'redis' ? '0' : '/'),
    port: parsed?.port ? Number(parsed.port) : transport === 'redis' ? 6379 : null,
    insist: false,
    ssl: scheme === 'rediss',
    transport,
    connect_timeout: 4,
    transport_options: transportOptions,
    login_method: null,
    uri_prefix: null,
    heartbeat: 120.0,
    failover_strategy: 'round-robin',
    alternates: [],
    credential_provider: null,
  };
}
