// Assembles a beat from the app's settings (Celery's and celery-redbeat's names) and the command
// line's overrides: the schedule table, the store (memory, JSON file, or Redis in redbeat's
// layout) and the leader lock. The CLI parses flags; everything else is decided here.
import { Redis } from 'ioredis';
import type { Celery } from '../app.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { maskUrl } from '../url-mask.js';
import { Beat, type BeatClock, systemClock } from './beat.js';
import { type LeaderLock, RedisLeaderLock } from './leader-lock.js';
import type { ScheduleEntry } from './schedule-entry.js';
import { redbeatConnection } from './redbeat-connection.js';
import { RedbeatScheduler } from './redbeat-scheduler.js';
import { appTimeZoneName, buildScheduleTable, type ScheduleTableOptions } from './schedule-table.js';
import { type BeatScheduler, Scheduler } from './scheduler.js';
import { FileStore } from './stores/file-store.js';
import { RedisStore, redbeatKeys } from './stores/redis-store.js';
import { MemoryStore, type ScheduleStore } from './stores/schedule-store.js';
import { TimeZone } from './time-zone.js';

export type SchedulerKind = 'default' | 'redbeat';

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
};

export function schedulerKind(name: string): SchedulerKind {
  const kind = SCHEDULER_NAMES[name];
  if (!kind) throw new ConfigError(`unknown beat scheduler '${name}' (expected default, redbeat, celery.beat:PersistentScheduler or redbeat.RedBeatScheduler)`);
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
  /** `redbeat_key_prefix`. */
  redbeatKeyPrefix?: string;
  /** `redbeat_lock_timeout` seconds. */
  lockTimeout?: number;
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
  const entries = buildScheduleTable({ ...conf.beat_schedule, ...overrides.extraEntries }, tableOptions);
  // Celery: `max_interval or beat_max_loop_interval or 300`, so 0 means the default.
  const maxIntervalMs = (overrides.maxInterval || conf.beat_max_loop_interval || 300) * 1000;
  const kind = schedulerKind(overrides.scheduler ?? conf.beat_scheduler);
  const { logger } = overrides;
  if (app.unimplementedSettings.length) logger.warn(`beat: ignoring Celery settings ts-celery does not implement: ${app.unimplementedSettings.join(', ')}`);
  let store: ScheduleStore;
  let scheduler: BeatScheduler;
  let lock: RedisLeaderLock | undefined;
  let redis: Redis | undefined;
  let description: string;
  if (kind === 'redbeat') {
    const url = overrides.redbeatUrl ?? conf.redbeat_redis_url ?? conf.broker_url;
    redis = new Redis({ ...redbeatConnection(url, conf.redbeat_redis_options), connectionName: 'ts-celery-beat', maxRetriesPerRequest: null });
    const keys = redbeatKeys(overrides.redbeatKeyPrefix ?? conf.redbeat_key_prefix, conf.redbeat_lock_key);
    const timeoutS = overrides.lockTimeout ?? conf.redbeat_lock_timeout ?? (maxIntervalMs / 1000) * 5;
    if (keys.lock) lock = new RedisLeaderLock(redis, keys.lock, timeoutS * 1000);
    const redisStore = new RedisStore(redis, { keys, timezone: new TimeZone(timezone), lockToken: lock?.token ?? null });
    store = redisStore;
    scheduler = new RedbeatScheduler({ app, statics: entries, store: redisStore, tableOptions, now: clock.now, logger, maxIntervalMs });
    description = `redbeat ${maskUrl(url ?? '')} prefix ${keys.prefix}${keys.lock ? `, lock ${keys.lock} (${timeoutS} s)` : ', no lock'}`;
  } else {
    const file = overrides.scheduleFile ?? conf.beat_schedule_filename;
    store = file ? new FileStore(file, { timezone, enableUtc: conf.enable_utc }) : new MemoryStore();
    description = file ? `state file ${file}` : 'state in memory';
    scheduler = new Scheduler({ app, entries, store, now: clock.now, logger, maxIntervalMs, syncEveryTasks: conf.beat_sync_every });
  }
  const beat = new Beat({ scheduler, clock, logger, lock });
  return {
    kind,
    entries,
    scheduler,
    beat,
    maxIntervalMs,
    lock,
    description,
    async close() {
      try {
        await store.close();
      } finally {
        redis?.disconnect();
      }
    },
  };
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
