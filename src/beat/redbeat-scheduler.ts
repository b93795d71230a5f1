// celery-redbeat's scheduler (redbeat/schedulers.py RedBeatScheduler.tick), so that a TypeScript
// beat and a Python RedBeat share one schedule: Redis is the source of truth. Each tick reads
// the keys due now (plus a peek at the next), loads their definitions — our static entries and
// any dynamic entry a Python service saved — and sends every due one, each advance fenced by the
// leader-lock token (redbeat/schedulers.py `acquire_distributed_beat_lock`).
import type { Logger } from '../log.js';
import { type EntryState, type ScheduleEntry, type TaskSender, entryIsDue, nextState } from './schedule-entry.js';
import type { ScheduleTableOptions } from './schedule-table.js';
import { type BeatScheduler, NotLeaderError, type UpcomingRun, applyEntry, soonestFirst, upcomingRun } from './scheduler.js';
import { decodeDefinition, encodeDefinition, type RedbeatDefinition } from './stores/redbeat-codec.js';
import type { RedisStore } from './stores/redis-store.js';

export interface RedbeatSchedulerOptions {
  app: TaskSender;
  /** The `beat_schedule` entries: written to Redis (as statics) at every start. */
  statics: readonly ScheduleEntry[];
  store: RedisStore;
  /** How stored definitions are read (the app timezone, beat_cron_starting_deadline). */
  tableOptions: ScheduleTableOptions;
  now: () => number;
  logger: Logger;
  /** `beat_max_loop_interval` in ms. */
  maxIntervalMs: number;
}

// redbeat's wait before looking at a disabled entry again.
const DISABLED_RECHECK_MS = 5000;
// Dynamic entries whose definitions keep changing must not grow the cache without end.
const MAX_CACHED_DEFINITIONS = 1000;

export class RedbeatScheduler implements BeatScheduler {
  /** Our statics by their definition JSON: they decode to the entries we hold (custom Schedule objects too). */
  private readonly statics = new Map<string, RedbeatDefinition>();
  /** Other definitions by their JSON text: each is parsed once, not every tick. */
  private readonly decoded = new Map<string, RedbeatDefinition | Error>();
  private readonly reportedBroken = new Set<string>();

  constructor(private readonly options: RedbeatSchedulerOptions) {
    for (const entry of options.statics) this.statics.set(encodeDefinition(entry), { entry, enabled: true });
  }

  async start(): Promise<void> {
    await this.options.store.load(this.options.statics, this.options.now());
  }

  async tick(): Promise<number> {
    const { store, now, maxIntervalMs } = this.options;
    const at = now();
    const waits = [maxIntervalMs];
    for (const key of await store.dueKeys(at, maxIntervalMs)) {
      const loaded = await this.load(key);
      if (!loaded) continue;
      const { definition, state } = loaded;
      if (!definition.enabled) {
        waits.push(DISABLED_RECHECK_MS);
        continue;
      }
      const { isDue, nextInMs } = entryIsDue(definition.entry, state, at);
      if (isDue) await this.send(definition.entry, state, at);
      if (nextInMs > 0) waits.push(nextInMs);
    }
    return Math.min(...waits);
  }

  async sync(): Promise<void> {}

  async upcoming(): Promise<UpcomingRun[]> {
    const at = this.options.now();
    const runs: UpcomingRun[] = [];
    for (const key of await this.options.store.allKeys()) {
      const loaded = await this.load(key);
      if (loaded) runs.push(upcomingRun(loaded.definition.entry, loaded.state, at));
    }
    return soonestFirst(runs);
  }

  /** Advance first (fenced), then publish; another beat's advance wins and we send nothing. */
  private async send(entry: ScheduleEntry, state: EntryState, at: number): Promise<void> {
    const outcome = await this.options.store.advance(entry, state, nextState(state, at));
    if (outcome === 'fenced') throw new NotLeaderError(`beat lost the leader lock before sending ${entry.name}`);
    if (outcome === 'conflict') return;
    await applyEntry(this.options.app, entry, this.options.logger);
  }

  private async load(key: string): Promise<{ definition: RedbeatDefinition; state: EntryState } | null> {
    const { store, logger } = this.options;
    const stored = await store.readKey(key);
    if (!stored) {
      logger.warn(`beat: Failed to load ${key}, removing`);
      await store.unschedule(key);
      return null;
    }
    const definition = this.decode(stored.definition);
    if (definition instanceof Error) {
      // Left in place: a Python RedBeat may still understand it. Reported once per definition.
      if (!this.reportedBroken.has(stored.definition)) {
        this.reportedBroken.add(stored.definition);
        logger.error(`beat: cannot run ${key}: ${definition.message}`);
      }
      return null;
    }
    return { definition, state: stored.state ?? { lastRunAt: null, totalRunCount: 0 } };
  }

  private decode(text: string): RedbeatDefinition | Error {
    let result = this.statics.get(text) ?? this.decoded.get(text);
    if (!result) {
      try {
        result = decodeDefinition(text, this.options.tableOptions);
      } catch (error) {
        result = error as Error;
      }
      if (this.decoded.size >= MAX_CACHED_DEFINITIONS) this.decoded.clear();
      this.decoded.set(text, result);
    }
    return result;
  }
}
