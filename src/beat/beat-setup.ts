// Assembles a beat from the app's settings (Celery's and celery-redbeat's names) and the command
// line's overrides: the schedule table, the store (memory, JSON file, or Redis in redbeat's
// layout) and the leader lock. The CLI parses flags; everything else is decided here.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Celery } from '../app.js';
import { BACKEND_CLEANUP_ENTRY, BACKEND_CLEANUP_TASK, needsBackendCleanup } from '../backend/cleanup.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseRedisUrl, REDIS_URL_SCHEMES, type RedisConnectionOptions } from '../transport/redis/options.js';
import type { ProbeStatus } from '../observe/probe-server.js';
import { maskUrl, urlScheme } from '../url-mask.js';
import { Beat, type BeatClock, systemClock } from './beat.js';
import { type LeaderLock, RedisLeaderLock } from './leader-lock.js';
import type { ScheduleEntry } from './schedule-entry.js';
import { redbeatConnection } from './redbeat-connection.js';
import { RedbeatScheduler } from './redbeat-scheduler.js';
import { appTimeZoneName, buildScheduleTable, type ScheduleTableOptions } from './schedule-table.js';
import { type BeatScheduler, Scheduler } from './scheduler.js';
import { createSqlClient, type SqlClient } from '../backend/sql/sql-client.js';
import { DjangoScheduler } from './django/django-scheduler.js';
import { DjangoStore } from './django/django-store.js';
import { SqlLeaderLock } from './sql-leader-lock.js';
import { FileStore } from './stores/file-store.js';
import { MirroredStore } from './stores/mirrored-store.js';
import { type RedbeatKeys, RedisStore, redbeatKeys } from './stores/redis-store.js';
import { MemoryStore, type ScheduleStore } from './stores/schedule-store.js';
import { TimeZone } from './time-zone.js';

export type SchedulerKind = 'default' | 'redbeat' | 'django';

// `beat_scheduler` / `-S` as Python teams write it (class paths) or short.
const SCHEDULER_NAMES: Record<string, SchedulerKind> = {
  default: 'default',
  'celery.beat:PersistentScheduler': 'default',
  'celery.beat.PersistentScheduler': 'default',
  'celery.beat:Scheduler': 'default',
  'celery.beat.Scheduler': 'default',
  redbeat: 'redbeat',
  'redbeat.RedBeatScheduler': 'redbeat',
  'redbeat:RedBeatScheduler': 'redbeat',
  'redbeat.schedulers.RedBeatScheduler': 'redbeat',
  'redbeat.schedulers:RedBeatScheduler': 'redbeat',
  django: 'django',
  'django_celery_beat.schedulers:DatabaseScheduler': 'django',
  'django_celery_beat.schedulers.DatabaseScheduler': 'django',
};

/** Whether `name` names a beat scheduler (`-S`'s meaning before it became --statedb on the worker). */
export function isSchedulerName(name: string): boolean {
  return Object.hasOwn(SCHEDULER_NAMES, name);
}

export function schedulerKind(name: string): SchedulerKind {
  const kind = SCHEDULER_NAMES[name];
  if (!kind) throw new ConfigError(`unknown beat scheduler '${name}' (expected default, redbeat, django, celery.beat:PersistentScheduler, redbeat.RedBeatScheduler or django_celery_beat.schedulers:DatabaseScheduler)`);
  return kind;
}

/** Command-line overrides; anything left out comes from the app's settings. */
export interface BeatSetupOverrides {
  /** `-s`: the JSON state file (`beat_schedule_filename`). */
  scheduleFile?: string;
  /** `--schedule-table`: entries added to (and overriding) `beat_schedule`. */
  extraEntries?: Record<string, unknown>;
  /** `--max-interval` seconds (`beat_max_loop_interval`). */
  maxInterval?: number;
  /** `-S` (`beat_scheduler`). */
  scheduler?: string;
  /** `redbeat_redis_url`. */
  redbeatUrl?: string;
  /** `database_url` (-S django). */
  databaseUrl?: string;
  /** `redbeat_key_prefix`. */
  redbeatKeyPrefix?: string;
  /** The leader lock's timeout in seconds (`redbeat_lock_timeout`, or `beat_lock_timeout` for the default scheduler). */
  lockTimeout?: number;
  /** false (`--no-lock`): the default scheduler holds no leader lock, whatever `beat_leader_lock` says. */
  leaderLock?: boolean;
  /** Who this beat is in the lock and the log (default host:pid). */
  owner?: string;
  /** `--list`: read the shared state without registering anything. */
  readOnly?: boolean;
  /** `beat_cron_starting_deadline` seconds. */
  cronStartingDeadline?: number;
  logger: Logger;
  clock?: BeatClock;
}

export interface BeatSetup {
  readonly kind: SchedulerKind;
  readonly entries: readonly ScheduleEntry[];
  readonly scheduler: BeatScheduler;
  readonly beat: Beat;
  readonly maxIntervalMs: number;
  readonly lock?: LeaderLock;
  /** One line for the start-up log: where the state lives. */
  readonly description: string;
  /** `/readyz`: running as leader or standby, and connected (its Redis, its broker). */
  readiness(): ProbeStatus;
  /** Check what the scheduler reads answers (-S django: the database and its tables); a clear error otherwise. */
  connect(): Promise<void>;
  /** Close the store and the Redis connection beat opened (not the app). */
  close(): Promise<void>;
}

export function setUpBeat(app: Celery, overrides: BeatSetupOverrides): BeatSetup {
  const conf = app.conf;
  const clock = overrides.clock ?? systemClock;
  const timezone = appTimeZoneName({ timezone: conf.timezone, enableUtc: conf.enable_utc });
  const tableOptions: ScheduleTableOptions = {
    timezone,
    cronStartingDeadline: overrides.cronStartingDeadline ?? conf.beat_cron_starting_deadline,
  };
  const table = { ...conf.beat_schedule, ...overrides.extraEntries };
  const configured = buildScheduleTable(table, tableOptions);
  const schedulerName = overrides.scheduler ?? conf.beat_scheduler;
  const kind = schedulerKind(schedulerName);
  // celery/beat.py `install_default_entries`, which PersistentScheduler (`celery beat`'s default)
  // and celery-redbeat call after reading beat_schedule; the plain `celery.beat:Scheduler` calls it
  // first and its `merge_inplace(beat_schedule)` drops the entry again. django-celery-beat writes
  // the entry as a row of its own, which Python's DatabaseScheduler creates.
  const plainScheduler = /^celery\.beat[.:]Scheduler$/.test(schedulerName);
  const cleanup = kind !== 'django' && !plainScheduler && !(BACKEND_CLEANUP_TASK in table) && needsBackendCleanup(conf.result_backend, conf.result_expires);
  const entries = cleanup ? [...configured, ...buildScheduleTable({ [BACKEND_CLEANUP_TASK]: BACKEND_CLEANUP_ENTRY }, tableOptions)] : configured;
  // Celery: `max_interval or beat_max_loop_interval or 300`, so 0 means the default;
  // django-celery-beat's DatabaseScheduler wakes every 5 s to see admin edits (DEFAULT_MAX_INTERVAL)
  // unless told otherwise (our beat_max_loop_interval defaults to Celery's 300, read as unset).
  const maxLoop = conf.beat_max_loop_interval === 300 && kind === 'django' ? 0 : conf.beat_max_loop_interval;
  const maxIntervalMs = (overrides.maxInterval || maxLoop || (kind === 'django' ? 5 : 300)) * 1000;
  const { logger } = overrides;
  if (app.unimplementedSettings.length) logger.warn(`beat: ignoring Celery settings ts-celery does not implement: ${app.unimplementedSettings.join(', ')}`);
  let store: ScheduleStore;
  let scheduler: BeatScheduler;
  let lock: LeaderLock | undefined;
  let db: SqlClient | undefined;
  let check = async () => {};
  let redis: Redis | undefined;
  let description: string;
  let noLockReason: string | undefined;
  if (kind === 'django') {
    const url = overrides.databaseUrl ?? conf.database_url;
    if (!url) throw new ConfigError('the django scheduler needs the Django database: set database_url (or --database-url), e.g. postgresql://user@host/db or mysql://user:password@host/db');
    const owner = overrides.owner ?? `${hostname()}:${process.pid}`;
    db = createSqlClient(url, { applicationName: `ts-celery beat ${owner}`.slice(0, 63) });
    const djangoStore = new DjangoStore(db);
    store = new MemoryStore();
    scheduler = new DjangoScheduler({ app, store: djangoStore, timezone: new TimeZone(timezone), cronStartingDeadline: tableOptions.cronStartingDeadline ?? null, now: clock.now, logger, maxIntervalMs });
    const timeoutS = overrides.lockTimeout ?? conf.beat_lock_timeout;
    if (overrides.leaderLock !== false && conf.beat_leader_lock) lock = new SqlLeaderLock(db, 'ts-celery-beat:django_celery_beat', { owner, timeoutMs: timeoutS * 1000 });
    else noLockReason = 'the leader lock is off (beat_leader_lock = false / --no-lock)';
    check = () => djangoStore.check();
    if (entries.length) logger.warn(`beat: -S django runs the periodic tasks in the database; the ${entries.length} beat_schedule entr${entries.length === 1 ? 'y is' : 'ies are'} not added to it (create them in the Django admin, or with Python's DatabaseScheduler)`);
    description = `django_celery_beat tables on ${db.where}${lock ? `, leader lock ${db.dialect === 'postgres' ? 'pg_try_advisory_lock' : 'GET_LOCK'} (standby retry ${timeoutS / 3} s)` : ', no lock'}`;
  } else if (kind === 'redbeat') {
    const url = overrides.redbeatUrl ?? conf.redbeat_redis_url ?? conf.broker_url;
    redis = new Redis({ ...redbeatConnection(url, conf.redbeat_redis_options), connectionName: 'ts-celery-beat', maxRetriesPerRequest: null });
    const keys = redbeatKeys(overrides.redbeatKeyPrefix ?? conf.redbeat_key_prefix, conf.redbeat_lock_key);
    const timeoutS = overrides.lockTimeout ?? conf.redbeat_lock_timeout ?? (maxIntervalMs / 1000) * 5;
    if (keys.lock) lock = new RedisLeaderLock(redis, keys.lock, timeoutS * 1000);
    const redisStore = new RedisStore(redis, { keys, timezone: new TimeZone(timezone), lockToken: lock?.token ?? null, defaultEntries: new Set(cleanup ? [BACKEND_CLEANUP_TASK] : []) });
    store = redisStore;
    scheduler = new RedbeatScheduler({ app, statics: entries, store: redisStore, tableOptions, now: clock.now, logger, maxIntervalMs });
    description = `redbeat ${maskUrl(url ?? '')} prefix ${keys.prefix}${keys.lock ? `, lock ${keys.lock} (${timeoutS} s)` : ', no lock'}`;
  } else {
    const file = overrides.scheduleFile ?? conf.beat_schedule_filename;
    const fileStore = file ? new FileStore(file, { timezone, enableUtc: conf.enable_utc }) : null;
    const shared = overrides.leaderLock === false || !conf.beat_leader_lock ? null : sharedRedis(conf);
    if (shared) {
      redis = new Redis({ ...shared.connection, connectionName: 'ts-celery-beat', maxRetriesPerRequest: null });
      const timeoutS = overrides.lockTimeout ?? conf.beat_lock_timeout;
      // The lock is named after the configured table alone: a beat of an earlier ts-celery, which
      // added no default entry, still shares it (no second leader during a rolling upgrade).
      const keys = sharedStateKeys(shared.keyPrefix, configured);
      lock = new RedisLeaderLock(redis, keys.lock!, timeoutS * 1000, { owner: overrides.owner ?? `${hostname()}:${process.pid}` });
      const redisStore = new RedisStore(redis, { keys, timezone: new TimeZone(timezone), lockToken: lock.token, prune: false, readOnly: overrides.readOnly });
      store = fileStore && !overrides.readOnly ? new MirroredStore(redisStore, fileStore) : redisStore;
      description = `state shared on ${shared.what} ${maskUrl(shared.url)} under ${keys.prefix}${fileStore ? ` (copied to ${file})` : ''}, leader lock ${keys.lock} (${timeoutS} s)`;
    } else {
      store = fileStore ?? new MemoryStore();
      description = file ? `state file ${file}` : 'state in memory';
      noLockReason =
        overrides.leaderLock === false || !conf.beat_leader_lock
          ? 'the leader lock is off (beat_leader_lock = false / --no-lock)'
          : `no Redis configured (broker ${maskUrl(app.brokerUrl)}, ${conf.result_backend ? `result backend ${maskUrl(conf.result_backend)}` : 'no result backend'})`;
    }
    scheduler = new Scheduler({ app, entries, store, now: clock.now, logger, maxIntervalMs, syncEveryTasks: conf.beat_sync_every });
  }
  const beat = new Beat({ scheduler, clock, logger, lock, noLockReason });
  let brokerConnected = true;
  if (!overrides.readOnly) {
    app.transport.onEvent((event) => {
      if (event.type === 'connection-lost') brokerConnected = false;
      else if (event.type === 'reconnected') brokerConnected = true;
    });
  }
  return {
    readiness(): ProbeStatus {
      if (!beat.running) return { ok: false, detail: 'beat is not running' };
      if (redis && redis.status !== 'ready') return { ok: false, detail: `beat: its Redis connection is ${redis.status}` };
      if (!brokerConnected) return { ok: false, detail: 'beat: broker connection lost' };
      return { ok: true, detail: `beat: ${!beat.hasLock ? 'running (no leader lock)' : beat.isLeader ? 'leader' : 'standby'}` };
    },
    kind,
    entries,
    scheduler,
    beat,
    maxIntervalMs,
    lock,
    description,
    connect: () => check(),
    async close() {
      try {
        await store.close();
      } finally {
        redis?.disconnect();
        // A standby's lock connection stays open until here.
        if (lock instanceof SqlLeaderLock) await lock.release().catch(() => {});
        await db?.close();
      }
    },
  };
}

/**
 * The Redis the default scheduler keeps its lock and state on: the broker's, else the result
 * backend's (with that side's `global_keyprefix` and Sentinel options); null when neither is one.
 */
function sharedRedis(conf: Celery['conf']): { what: string; url: string; connection: RedisConnectionOptions; keyPrefix: string } | null {
  const sides = [
    { what: 'the broker', url: conf.broker_url, options: conf.broker_transport_options, optionsName: 'broker_transport_options' },
    { what: 'the result backend', url: conf.result_backend, options: conf.result_backend_transport_options, optionsName: 'result_backend_transport_options' },
  ];
  for (const { what, url, options, optionsName } of sides) {
    if (!url || !REDIS_URL_SCHEMES.has(urlScheme(url, { slashes: false }) ?? '')) continue;
    const { master_name: masterName, sentinel_kwargs: sentinelKwargs, global_keyprefix: keyPrefix } = options;
    const connection = parseRedisUrl(url, {
      masterName: typeof masterName === 'string' ? masterName : undefined,
      sentinelKwargs: sentinelKwargs && typeof sentinelKwargs === 'object' ? (sentinelKwargs as Record<string, unknown>) : undefined,
      optionsName,
    });
    return { what, url, connection, keyPrefix: typeof keyPrefix === 'string' ? keyPrefix : '' };
  }
  return null;
}

/**
 * The default scheduler's keys, in celery-redbeat's layout under `<global_keyprefix>ts-celery-beat:`:
 * run states by entry name (shared by every beat that has the entry, each advance compared
 * against the stored run count, so a slot is sent once even by two leaders), and one lock per
 * schedule table (its names, tasks and schedules), so beats of the same table elect one
 * leader and an app with another table on the same Redis is never held back by it.
 */
function sharedStateKeys(keyPrefix: string, entries: readonly ScheduleEntry[]): RedbeatKeys {
  const table = entries.map((e) => `${e.name}\t${e.task}\t${e.schedule}`).join('\n');
  const fingerprint = createHash('sha1').update(table).digest('hex').slice(0, 12);
  const prefix = `${keyPrefix}ts-celery-beat:`;
  return { ...redbeatKeys(prefix, null), lock: `${prefix}:lock:${fingerprint}` };
}

/** `celery worker -B`: a beat running beside a worker in one process, stopped with it. */
export function startEmbeddedBeat(app: Celery, overrides: BeatSetupOverrides): { stop(): Promise<void> } {
  const setup = setUpBeat(app, overrides);
  const controller = new AbortController();
  const running = setup.beat.run(controller.signal).finally(() => setup.close());
  running.catch((error: unknown) => overrides.logger.error(`beat: ${error instanceof Error ? error.message : String(error)}`));
  return {
    async stop() {
      controller.abort();
      await running.catch(() => {});
    },
  };
}
