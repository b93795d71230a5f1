// django-celery-beat's DatabaseScheduler (django_celery_beat/schedulers.py), so that `ts-celery
// beat -S django` runs the periodic tasks a Django admin edits: the enabled PeriodicTasks are the
// schedule, re-read whenever the change marker moves (`DatabaseScheduler.schedule_changed`) and
// at least every 5 minutes (SCHEDULE_SYNC_MAX_INTERVAL); `ModelEntry.is_due` decides (enabled,
// start_time, expires, one_off, then the schedule); each run is written back (last_run_at,
// total_run_count) BEFORE its message is published, and only if the row is still enabled and at
// the count we read — so two beats on one database never both send a slot, even without the lock.
import type { Logger } from '../../log.js';
import { type EntryState, type TaskSender, nextState } from '../schedule-entry.js';
import { type BeatScheduler, type UpcomingRun, applyEntry, soonestFirst, upcomingRun } from '../scheduler.js';
import { NEVER_CHECK_MS } from '../schedules/clocked.js';
import type { TimeZone } from '../time-zone.js';
import { type DjangoEntry, DjangoRowError, decodeDjangoRow, dueStartTime } from './django-codec.js';
import type { DjangoStore } from './django-store.js';

/** schedulers.py SCHEDULE_SYNC_MAX_INTERVAL: a full re-read at least this often. */
const FULL_SYNC_MS = 300_000;

export interface DjangoSchedulerOptions {
  app: TaskSender;
  store: DjangoStore;
  timezone: TimeZone;
  cronStartingDeadline: number | null;
  now: () => number;
  logger: Logger;
  /** `beat_max_loop_interval` in ms (django-celery-beat's default: 5 s). */
  maxIntervalMs: number;
}

export class DjangoScheduler implements BeatScheduler {
  private entries: DjangoEntry[] = [];
  private lastChange: number | null = null;
  private lastFullSync = 0;
  private reloadSoon = false;
  private readonly reported = new Set<string>();

  constructor(private readonly options: DjangoSchedulerOptions) {}

  /** The initial read (again on every new leadership: the previous leader's runs are in the rows). */
  async start(): Promise<void> {
    this.lastChange = await this.options.store.lastChange();
    await this.reload();
  }

  async tick(): Promise<number> {
    const { now, maxIntervalMs } = this.options;
    if ((await this.scheduleChanged()) || this.reloadSoon || now() - this.lastFullSync >= FULL_SYNC_MS) {
      await this.reload();
    }
    const waits = [maxIntervalMs];
    for (const entry of [...this.entries]) {
      const at = now();
      const { isDue, nextInMs } = await this.isDue(entry, at);
      if (isDue) await this.send(entry, at);
      waits.push(nextInMs);
    }
    return Math.max(0, Math.min(...waits));
  }

  async sync(): Promise<void> {}

  async upcoming(): Promise<UpcomingRun[]> {
    const at = this.options.now();
    return soonestFirst(this.entries.map((e) => upcomingRun(e.entry, e.state, at)));
  }

  /** The entries as last read (tests, `--list`). */
  get table(): readonly DjangoEntry[] {
    return this.entries;
  }

  /** `schedule_changed`: the marker moved past the one we last saw. */
  private async scheduleChanged(): Promise<boolean> {
    const last = this.lastChange;
    const ts = await this.options.store.lastChange();
    this.lastChange = ts;
    const changed = ts !== null && ts > (last ?? ts);
    if (changed) this.options.logger.info('DatabaseScheduler: Schedule changed.');
    return changed;
  }

  /** `all_as_schedule`: every enabled task; a row that cannot run is reported once (and disabled where Django does). */
  private async reload(): Promise<void> {
    const { store, logger, now } = this.options;
    const at = now();
    const rows = await store.enabledTasks();
    const entries: DjangoEntry[] = [];
    for (const row of rows) {
      try {
        entries.push(decodeDjangoRow(row, { timezone: this.options.timezone, cronStartingDeadline: this.options.cronStartingDeadline, now: at }));
      } catch (error) {
        const message = (error as Error).message;
        if (error instanceof DjangoRowError && error.disable) {
          logger.error(`Removing schedule ${row.name} for argument deserialization error: ${message}`);
          await store.disable(Number(row.id), at);
        } else if (!this.reported.has(message)) {
          this.reported.add(message);
          logger.error(`beat: cannot run ${message}`);
        }
      }
    }
    this.entries = entries;
    this.lastFullSync = at;
    this.reloadSoon = false;
  }

  /** `ModelEntry.is_due`. */
  private async isDue(entry: DjangoEntry, at: number): Promise<{ isDue: boolean; nextInMs: number }> {
    const { store } = this.options;
    if (entry.startTime !== null && at < entry.startTime) {
      return { isDue: false, nextInMs: Math.max(Math.ceil((dueStartTime(entry) - at) / 1000) * 1000, 0) };
    }
    if (entry.expires !== null && at >= entry.expires) {
      await store.disable(entry.id, at);
      this.drop(entry);
      return { isDue: false, nextInMs: NEVER_CHECK_MS };
    }
    if (entry.oneOff && entry.state.totalRunCount > 0) {
      await store.disable(entry.id, at, { resetRunCount: true });
      this.drop(entry);
      return { isDue: false, nextInMs: NEVER_CHECK_MS };
    }
    return entry.entry.schedule.isDue(entry.state.lastRunAt ?? at, at);
  }

  /** Record the run (fenced by run count and enabled), then publish. */
  private async send(entry: DjangoEntry, at: number): Promise<void> {
    const previous: EntryState = entry.state;
    const next = nextState(previous, at);
    const won = await this.options.store.advance(entry.id, previous, next, at);
    // Either way this slot is taken: never resent by us.
    entry.state = next;
    if (!won) {
      // Another beat ran it, or it was disabled or deleted meanwhile: read the table again.
      this.reloadSoon = true;
      return;
    }
    await applyEntry(this.options.app, entry.entry, this.options.logger);
  }

  private drop(entry: DjangoEntry): void {
    this.entries = this.entries.filter((e) => e !== entry);
  }
}
