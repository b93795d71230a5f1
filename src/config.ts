// App configuration with Celery's own setting names (docs.celeryq.dev "Configuration and
// defaults"), validated by zod at the edge so a Python config reads across unchanged.
import { z } from 'zod';
import { CELERY_SETTING_NAMES } from './celery-settings.js';
import { didYouMean } from './did-you-mean.js';
import { ConfigError } from './errors.js';
import { taskAnnotationsSchema } from './registry/task-annotations.js';

const seconds = z.number().finite().nonnegative();

/** Whether the runtime's Intl knows the zone (Python: zoneinfo.ZoneInfo raises otherwise). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** One entry of `task_queues`: a queue and the exchange binding that feeds it. */
const queueDeclaration = z.strictObject({
  name: z.string().min(1),
  exchange: z.string().optional(),
  exchange_type: z.enum(['direct', 'topic', 'fanout']).optional(),
  routing_key: z.string().optional(),
  /** kombu `Queue(max_priority=)`: RabbitMQ's `x-max-priority` for this queue. */
  max_priority: z.number().int().min(1).max(255).optional(),
  /** kombu `Queue(queue_arguments=)`: RabbitMQ `x-` arguments, e.g. `{'x-queue-type': 'quorum'}`. */
  queue_arguments: z.record(z.string(), z.unknown()).optional(),
});

/** What a route (task_routes entry or router function) may say about a task's destination. */
const routeOptions = z.strictObject({
  queue: z.string().min(1).optional(),
  exchange: z.string().optional(),
  exchange_type: z.enum(['direct', 'topic', 'fanout']).optional(),
  routing_key: z.string().optional(),
  priority: z.number().int().min(0).max(255).optional(),
});
export type RouteOptions = z.infer<typeof routeOptions>;

/** A router function, as Celery allows: `(name, args, kwargs, options) => route | null`. */
export type RouterFunction = (
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: Record<string, unknown>,
) => RouteOptions | string | null | undefined;

/** `{pattern: route}` where pattern is an exact name or a glob (`reports.*`); a route may be a queue name. */
const routeMap = z.record(z.string(), z.union([z.string().min(1), routeOptions]));
const routeEntry = z.union([
  routeMap,
  z.tuple([z.instanceof(RegExp), z.union([z.string().min(1), routeOptions])]),
  z.custom<RouterFunction>((v) => typeof v === 'function', 'a router function'),
]);

const settings = {
  broker_url: z.string().min(1).optional(),
  result_backend: z.string().min(1).optional(),
  broker_transport_options: z.record(z.string(), z.unknown()).default({}),
  result_backend_transport_options: z.record(z.string(), z.unknown()).default({}),
  /** Start-up retry of the worker and beat (Celery: None = follow broker_connection_retry). */
  broker_connection_retry_on_startup: z.boolean().nullable().default(null),
  broker_connection_retry: z.boolean().default(true),
  /** Retries before start-up gives up; null = forever. */
  broker_connection_max_retries: z.number().int().nonnegative().nullable().default(100),
  /** Seconds one connection attempt may take. */
  broker_connection_timeout: seconds.default(4),
  /** TLS for the broker connection: RabbitMQ takes py-amqp's dict (ca_certs, certfile, keyfile, cert_reqs, server_hostname, ciphers), Redis redis-py's ssl_* dict (ssl_cert_reqs, ssl_ca_certs, ssl_certfile, ssl_keyfile), or true. */
  broker_use_ssl: z.union([z.boolean(), z.record(z.string(), z.unknown())]).nullable().default(null),
  /** The Redis result backend's ssl_* dict (as broker_use_ssl). */
  redis_backend_use_ssl: z.record(z.string(), z.unknown()).nullable().default(null),
  /**
   * Seconds a Redis result backend reply may be late before the connection is dropped and
   * re-made (the command is re-sent). Celery's default is 120; null (ours) = the 25 s health check.
   */
  redis_socket_timeout: z.number().finite().positive().nullable().default(null),
  /** Seconds the result backend's connect may take (null = 10). */
  redis_socket_connect_timeout: z.number().finite().positive().nullable().default(null),
  redis_socket_keepalive: z.boolean().default(false),
  /** Seconds between AMQP heartbeats on RabbitMQ connections (Celery's default 120; 0 = off; the server's lower value wins). */
  broker_heartbeat: seconds.default(120),
  /** RabbitMQ URL lists (`amqp://h1//;amqp://h2//`): which node next when one fails (kombu's strategies). */
  broker_failover_strategy: z.enum(['round-robin', 'shuffle']).nullable().default(null),

  task_default_queue: z.string().min(1).default('celery'),
  task_default_exchange: z.string().optional(),
  task_default_exchange_type: z.enum(['direct', 'topic', 'fanout']).default('direct'),
  task_default_routing_key: z.string().optional(),
  task_default_priority: z.number().int().min(0).max(255).nullable().default(null),
  task_queues: z.array(queueDeclaration).default([]),
  /** RabbitMQ: `x-max-priority` of every queue Celery declares (a queue's own max_priority wins). */
  task_queue_max_priority: z.number().int().min(1).max(255).nullable().default(null),
  task_create_missing_queues: z.boolean().default(true),
  /** RabbitMQ: the type of the default queue Celery declares when task_queues is empty. */
  task_default_queue_type: z.enum(['classic', 'quorum']).default('classic'),
  /** RabbitMQ: the type of queues created on the fly (celery/app/amqp.py `Queues.new_missing`). */
  task_create_missing_queue_type: z.enum(['classic', 'quorum']).default('classic'),
  /** RabbitMQ: the `celery_delayed_*` queues' type (kombu native delayed delivery). */
  broker_native_delayed_delivery_queue_type: z.enum(['classic', 'quorum']).default('quorum'),
  task_routes: z.union([routeEntry, z.array(routeEntry)]).nullable().default(null),
  task_serializer: z.literal('json').default('json'),
  accept_content: z.array(z.string()).default(['json']),
  result_accept_content: z.array(z.string()).nullable().default(null),
  task_compression: z.enum(['gzip', 'zlib', 'brotli']).nullable().default(null),
  task_protocol: z.literal(2).default(2),
  task_ignore_result: z.boolean().default(false),
  task_store_errors_even_if_ignored: z.boolean().default(false),
  task_track_started: z.boolean().default(false),
  task_acks_late: z.boolean().default(false),
  task_acks_on_failure_or_timeout: z.boolean().default(true),
  task_reject_on_worker_lost: z.boolean().default(false),
  task_time_limit: seconds.nullable().default(null),
  task_soft_time_limit: seconds.nullable().default(null),
  task_default_rate_limit: z.string().nullable().default(null),
  /** Task options from the config, by task name or '*' (registry/task-annotations.ts). */
  task_annotations: taskAnnotationsSchema.default(null),
  task_send_sent_event: z.boolean().default(false),
  task_inherit_parent_priority: z.boolean().default(false),
  task_publish_retry: z.boolean().default(true),

  result_expires: seconds.nullable().default(86400),
  result_extended: z.boolean().default(false),
  /** rpc://: result messages persistent (delivery mode 2); Celery's default is transient. */
  result_persistent: z.boolean().nullable().default(null),
  result_compression: z.enum(['gzip', 'zlib', 'brotli']).nullable().default(null),
  /** Retry a result write while the backend is unreachable (celery/backends/base.py `Backend._ensure_retryable`). */
  result_backend_always_retry: z.boolean().default(false),
  /** How many times (Celery: infinity; null here means the same). */
  result_backend_max_retries: z.number().nonnegative().nullable().default(null),
  result_backend_base_sleep_between_retries_ms: z.number().int().nonnegative().default(10),
  result_backend_max_sleep_between_retries_ms: z.number().int().nonnegative().default(10000),
  /** Seconds between `celery.chord_unlock` polls of a chord header (backends without a chord counter: db+). */
  result_chord_retry_interval: z.number().positive().default(1),

  worker_concurrency: z.number().int().positive().nullable().default(null),
  worker_prefetch_multiplier: z.number().int().nonnegative().default(4),
  worker_send_task_events: z.boolean().default(false),
  worker_disable_rate_limits: z.boolean().default(false),
  /** false = no pidbox: the worker answers no inspect/control command (in ts-celery it then sends no events either). */
  worker_enable_remote_control: z.boolean().default(true),
  worker_max_tasks_per_child: z.number().int().positive().nullable().default(null),
  worker_max_memory_per_child: z.number().int().positive().nullable().default(null),
  /**
   * Celery ≥5.6's name: at most this many ETA/countdown messages held in memory. Unlike Celery
   * (which then caps the whole prefetch window) the earliest are kept, later ones go back to
   * the broker, and other tasks keep flowing. Celery's default is no limit; ours is 1000.
   */
  worker_eta_task_limit: z.number().int().positive().nullable().default(1000),
  /**
   * Not in Celery: the largest task message body a worker accepts, in bytes, as it arrives and
   * once decompressed (a decompression bomb stops there). Larger ones are rejected once, logged,
   * and stored as FAILURE MessageTooLarge. null = no limit (Celery's behaviour).
   */
  worker_max_message_size: z.number().int().positive().nullable().default(16 * 1024 * 1024),
  /** RabbitMQ: consume with per-consumer prefetch when a queue is quorum (global QoS is refused there). */
  worker_detect_quorum_queues: z.boolean().default(true),
  /**
   * Celery 5.5's soft shutdown: a cold shutdown first lets running tasks finish for up to this
   * many seconds (0 = off), then aborts the rest and gives their unacked messages back.
   */
  worker_soft_shutdown_timeout: seconds.default(0),
  /** Wait out the soft shutdown timeout even with no task running (Celery 5.5). */
  worker_enable_soft_shutdown_on_idle: z.boolean().default(false),
  /** `--statedb`: the file revoked ids and the logical clock are kept in across restarts (worker/state-db.ts). */
  worker_state_db: z.string().min(1).nullable().default(null),
  /** On a lost broker connection, cancel running acks_late tasks (their messages come back) instead of running them twice (Celery 5.1). */
  worker_cancel_long_running_tasks_on_connection_loss: z.boolean().default(false),
  /** Each worker also consumes `<node name>.dq2`, fed by the `C.dq2` exchange (routing.ts `workerDirect`). */
  worker_direct: z.boolean().default(false),
  /** acks_late: a redelivered message whose task already stored SUCCESS is acked, not run again (Celery 5.1). */
  worker_deduplicate_successful_tasks: z.boolean().default(false),
  // ts-celery's own: the port of /metrics (Prometheus), /healthz and /readyz; null = off.
  worker_metrics_port: z.number().int().min(0).max(65535).nullable().default(null),
  /** Interface of the metrics port; null = every interface. */
  worker_metrics_host: z.string().min(1).nullable().default(null),

  /** null = UTC with enable_utc (Celery's default), else the local zone (see beat's appTimeZoneName). */
  timezone: z.string().refine(isTimeZone, 'must be an IANA time zone name such as "Europe/Berlin" or "UTC"').nullable().default(null),
  enable_utc: z.boolean().default(true),

  event_exchange: z.string().default('celeryev'),
  control_exchange: z.string().default('celery'),

  beat_schedule: z.record(z.string(), z.unknown()).default({}),
  beat_max_loop_interval: seconds.default(300),
  /** Celery's class path or `default` / `redbeat` (resolved by the beat set-up). */
  beat_scheduler: z.string().min(1).default('celery.beat:PersistentScheduler'),
  /** The `-s` state file; unset = state in memory (Celery's shelve file is Python-only). */
  beat_schedule_filename: z.string().min(1).nullable().default(null),
  beat_sync_every: z.number().int().nonnegative().default(0),
  beat_cron_starting_deadline: z.number().finite().positive().nullable().default(null),
  // ts-celery's own: wherever a Redis is configured (broker or result backend) the default
  // scheduler holds a leader lock there, so several beats (or `worker -B`s) send each slot once.
  /** false = no lock: every beat sends (Celery's default scheduler; then run only one). */
  beat_leader_lock: z.boolean().default(true),
  /** Seconds a dead leader's lock outlives it (a standby takes over after at most this). */
  beat_lock_timeout: z.number().finite().positive().default(30),
  /** `/metrics`, `/healthz` and `/readyz` of `ts-celery beat` on this port; null = off. */
  beat_metrics_port: z.number().int().min(0).max(65535).nullable().default(null),
  // celery-redbeat's settings (redbeat/schedulers.py RedBeatConfig).
  redbeat_redis_url: z.string().min(1).nullable().default(null),
  redbeat_key_prefix: z.string().min(1).default('redbeat:'),
  /** redis-py options; with a `redis-sentinel://` URL: `sentinels`, `service_name`, `password`, `db`. */
  redbeat_redis_options: z.record(z.string(), z.unknown()).default({}),
  /** null = no leader lock (redbeat allows it; then run only one beat). */
  redbeat_lock_key: z.string().min(1).nullable().optional(),
  redbeat_lock_timeout: z.number().finite().positive().nullable().default(null),
  /**
   * Celery's name (the SQLAlchemy backend's database): the Django database `-S django` and the
   * `django-db` result backend use, and the database of result_backend `db` / `database`, as
   * `postgresql://…` or `mysql://…` (a `+driver` is ignored).
   */
  database_url: z.string().min(1).nullable().default(null),
  /** The `db+` result backend's table names, keys `task` / `group` (Celery's defaults: celery_taskmeta, celery_tasksetmeta). */
  database_table_names: z.strictObject({ task: z.string().min(1).optional(), group: z.string().min(1).optional() }).default({}),
  /** The `db+` result backend's table schemas (a MySQL database), keys `task` / `group`. */
  database_table_schemas: z.strictObject({ task: z.string().min(1).optional(), group: z.string().min(1).optional() }).default({}),
};

const configSchema = z.strictObject(settings);

/** Settings as the user writes them (Celery names; every key optional). */
export type CeleryConfigInput = z.input<typeof configSchema>;
/** Settings after validation, with Celery's defaults filled in. */
export type CeleryConfig = z.output<typeof configSchema>;

/** Settings of ts-celery's own, where no Celery or celery-redbeat setting does their job (README). */
export const TS_CELERY_SETTINGS: readonly string[] = ['worker_metrics_port', 'worker_metrics_host', 'worker_max_message_size', 'beat_leader_lock', 'beat_lock_timeout', 'beat_metrics_port'];

/** Every setting name we know, for "did you mean" hints. */
export const KNOWN_SETTINGS: readonly string[] = Object.keys(settings);

/**
 * Celery settings in `input` that ts-celery accepts but does not implement (a config shared with
 * Python services may carry any Celery setting); the app reports them once at start-up.
 */
export function unimplementedSettings(input: Record<string, unknown>): string[] {
  return Object.keys(input).filter((key) => !KNOWN_SETTINGS.includes(key) && CELERY_SETTING_NAMES.has(key));
}

/**
 * Validate user settings, apply Celery's defaults and the `CELERY_BROKER_URL` /
 * `CELERY_RESULT_BACKEND` environment variables (which win over the config, as in Celery's
 * `Settings.broker_url`). Celery settings we don't implement are dropped (see
 * `unimplementedSettings`); any other unknown name is an error with a "did you mean".
 */
export function loadConfig(input: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): CeleryConfig {
  const ignored = new Set(unimplementedSettings(input));
  for (const key of Object.keys(input)) {
    if (!KNOWN_SETTINGS.includes(key) && !ignored.has(key)) {
      throw new ConfigError(`unknown setting '${key}'${didYouMean(key, [...CELERY_SETTING_NAMES, ...TS_CELERY_SETTINGS])}`);
    }
  }
  const implemented = Object.fromEntries(Object.entries(input).filter(([key]) => !ignored.has(key)));
  const parsed = configSchema.safeParse(implemented);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    const value = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], input);
    const hint = path === 'timezone' && typeof value === 'string' ? didYouMean(value, Intl.supportedValuesOf('timeZone')) : '';
    const message = issue.code === 'custom' ? issue.message : issue.message.toLowerCase();
    throw new ConfigError(`${path || 'config'} ${message}, got ${describe(value)}${hint}`);
  }
  const config = parsed.data;
  if (env.CELERY_BROKER_URL) config.broker_url = env.CELERY_BROKER_URL;
  if (env.CELERY_RESULT_BACKEND) config.result_backend = env.CELERY_RESULT_BACKEND;
  return config;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
