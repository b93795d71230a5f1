// Where beat keeps each entry's run state between ticks and restarts. The Redis store fences
// every advance with the leader lock, so only the leader's sends count (the lock that
// redbeat/schedulers.py `acquire_distributed_beat_lock` takes and `RedBeatScheduler.tick` extends).
import type { EntryState, ScheduleEntry } from '../schedule-entry.js';

/** `ok`: persisted, publish now; `fenced`: we are not the leader; `conflict`: state moved on. */
export type AdvanceOutcome = 'ok' | 'fenced' | 'conflict';

export interface ScheduleStore {
  /**
   * Register the entries (celery-redbeat writes their definitions) and return each one's state;
   * an entry the store has never seen starts with `last_run_at = now` (Celery's default scheduler).
   */
  load(entries: readonly ScheduleEntry[], now: number): Promise<Map<string, EntryState>>;
  /** Persist `next` if the entry is still at `previous` (called BEFORE publishing). */
  advance(entry: ScheduleEntry, previous: EntryState, next: EntryState): Promise<AdvanceOutcome>;
  /** Flush buffered state (the scheduler calls it every `syncEveryMs` and at shutdown). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** State in memory only (beat without `-s`): every start is a fresh start. */
export class MemoryStore implements ScheduleStore {
  private readonly states = new Map<string, EntryState>();

  async load(entries: readonly ScheduleEntry[], now: number): Promise<Map<string, EntryState>> {
    const out = new Map<string, EntryState>();
    for (const e of entries) {
      const state = this.states.get(e.name) ?? { lastRunAt: now, totalRunCount: 0 };
      this.states.set(e.name, state);
      out.set(e.name, state);
    }
    return out;
  }

  async advance(entry: ScheduleEntry, previous: EntryState, next: EntryState): Promise<AdvanceOutcome> {
    const current = this.states.get(entry.name);
    if (current && current.totalRunCount !== previous.totalRunCount) return 'conflict';
    this.states.set(entry.name, next);
    return 'ok';
  }

  async sync(): Promise<void> {}
  async close(): Promise<void> {}
}
