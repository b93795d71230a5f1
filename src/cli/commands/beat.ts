// `ts-celery beat`: Celery's `celery beat` — sends the `beat_schedule` entries when due, with the
// state in memory, a JSON file (-s) or Redis in celery-redbeat's layout with a leader lock (-S redbeat).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { Beat, systemClock } from '../../beat/beat.js';
import { RedisLeaderLock } from '../../beat/leader-lock.js';
import { buildScheduleTable } from '../../beat/schedule-table.js';
import { Scheduler } from '../../beat/scheduler.js';
import { FileStore } from '../../beat/stores/file-store.js';
import { RedisStore, redbeatKeys } from '../../beat/stores/redis-store.js';
import { MemoryStore, type ScheduleStore } from '../../beat/stores/schedule-store.js';
import { TimeZone } from '../../beat/time-zone.js';
import { createLogger, parseLogLevel } from '../../log.js';
import { addConnectionOptions, appFromFlags, type ConnectionFlags } from '../app-from-flags.js';

interface BeatFlags extends ConnectionFlags {
  schedule?: string;
  scheduleTable?: string;
  maxInterval?: string;
  loglevel: string;
  list?: boolean;
  scheduler: string;
  redbeatUrl?: string;
  redbeatKeyPrefix: string;
  lockTimeout?: string;
  cronStartingDeadline?: string;
}

export function registerBeatCommand(program: Command): void {
  const command = program
    .command('beat')
    .description('Start the beat periodic task scheduler (sends beat_schedule entries when due)')
    .option('-s, --schedule <file>', 'JSON state file (last run times); default: state kept in memory')
    .option('--schedule-table <file>', 'JSON file of extra beat_schedule entries (overrides same names)')
    .option('--max-interval <seconds>', 'max seconds to sleep between schedule checks (beat_max_loop_interval)')
    .option('-S, --scheduler <name>', "'default' or 'redbeat' (shared state + leader lock on Redis)", 'default')
    .option('--redbeat-url <url>', 'Redis for -S redbeat (default: the broker URL)')
    .option('--redbeat-key-prefix <prefix>', 'celery-redbeat redbeat_key_prefix', 'redbeat:')
    .option('--lock-timeout <seconds>', 'leader lock timeout for -S redbeat (default: 5 × max interval)')
    .option('--cron-starting-deadline <seconds>', 'beat_cron_starting_deadline: skip crontab runs missed by more')
    .option('-l, --loglevel <level>', 'logging level', 'INFO')
    .option('--list', 'print the entries with their next run time and exit');
  addConnectionOptions(command).action(async (flags: BeatFlags) => {
    const logger = createLogger({ level: parseLogLevel(flags.loglevel) });
    const app = await appFromFlags(flags);
    const redis: Redis[] = [];
    try {
      const conf = app.conf;
      const extra = flags.scheduleTable ? (JSON.parse(await readFile(flags.scheduleTable, 'utf8')) as Record<string, unknown>) : {};
      const entries = buildScheduleTable(
        { ...conf.beat_schedule, ...extra },
        { timezone: conf.timezone, cronStartingDeadline: flags.cronStartingDeadline ? positive(flags.cronStartingDeadline, '--cron-starting-deadline') : null },
      );
      const maxIntervalMs = (flags.maxInterval ? positive(flags.maxInterval, '--max-interval') : conf.beat_max_loop_interval) * 1000;
      let store: ScheduleStore = flags.schedule ? new FileStore(flags.schedule, { timezone: conf.timezone, enableUtc: conf.enable_utc }) : new MemoryStore();
      let lock: RedisLeaderLock | undefined;
      if (flags.scheduler === 'redbeat') {
        const client = new Redis(flags.redbeatUrl ?? conf.broker_url ?? '');
        redis.push(client);
        const keys = redbeatKeys(flags.redbeatKeyPrefix);
        lock = new RedisLeaderLock(client, keys.lock, flags.lockTimeout ? positive(flags.lockTimeout, '--lock-timeout') * 1000 : maxIntervalMs * 5);
        store = new RedisStore(client, { keys, timezone: new TimeZone(conf.timezone), lockToken: lock.token });
      } else if (flags.scheduler !== 'default') {
        throw new Error(`unknown scheduler '${flags.scheduler}' (expected default or redbeat)`);
      }
      const reread = store instanceof RedisStore ? store.read.bind(store) : undefined;
      const scheduler = new Scheduler({ app, entries, store, now: systemClock.now, logger, maxIntervalMs, reread });
      if (flags.list) {
        await scheduler.start();
        for (const { entry, state, nextRunAt } of scheduler.upcoming()) {
          process.stdout.write(`${entry.name}  ${entry.task}  ${entry.schedule}  next: ${new Date(nextRunAt).toISOString()}  runs: ${state.totalRunCount}\n`);
        }
        await store.close();
        return;
      }
      logger.info(`beat: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, max interval ${maxIntervalMs / 1000} s, scheduler ${flags.scheduler}`);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await new Beat({ scheduler, clock: systemClock, logger, lock }).run(controller.signal);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await store.close();
      }
    } finally {
      for (const client of redis) client.disconnect();
      await app.close();
    }
  });
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number of seconds, got '${value}'`);
  return n;
}
