// The default scheduler's state when beats share a Redis: Redis holds it (every advance fenced by
// the leader lock, so a standby taking over continues from the leader's last send), and a `-s
// FILE` keeps a copy — its states seed entries Redis has never seen, and it is written as
// before, so a beat started later without Redis or without the lock continues from it.
import type { EntryState, ScheduleEntry } from '../schedule-entry.js';
import type { FileStore } from './file-store.js';
import type { RedisStore } from './redis-store.js';
import type { AdvanceOutcome, ScheduleStore } from './schedule-store.js';

export class MirroredStore implements ScheduleStore {
  constructor(
    private readonly primary: RedisStore,
    private readonly mirror: FileStore,
  ) {}

  async load(entries: readonly ScheduleEntry[], now: number): Promise<Map<string, EntryState>> {
    const seed = await this.mirror.load(entries, now);
    const states = await this.primary.load(entries, now, seed);
    this.mirror.replace(states);
    return states;
  }

  async advance(entry: ScheduleEntry, previous: EntryState, next: EntryState): Promise<AdvanceOutcome> {
    const outcome = await this.primary.advance(entry, previous, next);
    if (outcome !== 'fenced') this.mirror.replace(new Map([[entry.name, next]]));
    return outcome;
  }

  sync(): Promise<void> {
    return this.mirror.sync();
  }

  async close(): Promise<void> {
    try {
      await this.mirror.close();
    } finally {
      await this.primary.close();
    }
  }
}
