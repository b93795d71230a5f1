// Celery's beat `Scheduler.tick` (celery/beat.py `Scheduler.tick`, `populate_heap`, and
// `apply_async`, which calls `reserve` first): a min-heap of due times, one task per tick, the
// entry advanced (last_run_at = now, total_run_count + 1) and persisted BEFORE the message is
// published, waits capped by `beat_max_loop_interval`.
import type { Logger } from '../log.js';
import { type EntryState, type ScheduleEntry, type TaskSender, entryIsDue, nextState, sendOptions } from './schedule-entry.js';
import type { ScheduleStore } from './stores/schedule-store.js';

/** An entry with its run state and next run instant (`ts-celery beat --list`). */
export interface UpcomingRun {
  entry: ScheduleEntry;
  state: EntryState;
  nextRunAt: number;
}

/** What Beat drives (Celery's Scheduler API): load the state, tick, flush. */
export interface BeatScheduler {
  /** Load the run states (again on every new leadership: the old leader's writes count). */
  start(): Promise<void>;
  /** Send what is due; returns how long to wait (ms) before the next tick. */
  tick(): Promise<number>;
  sync(): Promise<void>;
  /** Entries with their next run instant, soonest first. */
  upcoming(): Promise<UpcomingRun[]>;
}

/** Thrown by `tick` when the store refused an advance because this beat is not the leader. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
}

export interface SchedulerOptions {
  app: TaskSender;
  entries: readonly ScheduleEntry[];
  store: ScheduleStore;
  now: () => number;
  logger: Logger;
  /** `beat_max_loop_interval` in ms (default 300 s). */
  maxIntervalMs?: number;
  /** Celery syncs the store every 3 minutes (`Scheduler.sync_every`). */
  syncEveryMs?: number;
  /** `beat_sync_every`: also sync after this many sent tasks (0 = only by time). */
  syncEveryTasks?: number;
}

interface HeapEvent {
  due: number;
  seq: number;
  entry: ScheduleEntry;
}

// Celery's Scheduler.adjust: wake 10 ms early.
const DRIFT_MS = -10;
const adjust = (ms: number) => (ms > 0 ? ms + DRIFT_MS : ms);

export class Scheduler implements BeatScheduler {
  private readonly heap: HeapEvent[] = [];
  private states = new Map<string, EntryState>();
  private seq = 0;
  private lastSync = 0;
  private tasksSinceSync = 0;
  readonly maxIntervalMs: number;

  constructor(private readonly options: SchedulerOptions) {
    this.maxIntervalMs = options.maxIntervalMs ?? 300_000;
  }

  /** Load the run states and heap them. */
  async start(): Promise<void> {
    const now = this.options.now();
    this.states = await this.options.store.load(this.options.entries, now);
    this.lastSync = now;
    this.heap.length = 0;
    // populate_heap: due entries at now, others at now + their wait.
    for (const entry of this.options.entries) {
      const { isDue, nextInMs } = entryIsDue(entry, this.state(entry), now);
      this.push({ due: now + (isDue ? 0 : adjust(nextInMs)), seq: this.seq++, entry });
    }
  }

  /** Run states by entry name (for `--list` and tests). */
  get entryStates(): ReadonlyMap<string, EntryState> {
    return this.states;
  }

  /** One iteration: sends at most one due task; returns how long to wait (ms) before the next. */
  async tick(): Promise<number> {
    const head = this.heap[0];
    if (!head) return this.maxIntervalMs;
    const now = this.options.now();
    if (head.due > now) return Math.min(head.due - now, this.maxIntervalMs);
    const { entry } = head;
    const previous = this.state(entry);
    const { isDue, nextInMs } = entryIsDue(entry, previous, now);
    this.pop();
    if (!isDue) {
      // Heap said due, the schedule says later (celery#7649): reheap at that time.
      this.push({ due: now + nextInMs, seq: head.seq, entry });
      return this.heap[0]!.entry !== entry ? 0 : Math.min(adjust(nextInMs), this.maxIntervalMs);
    }
    const next = nextState(previous, now);
    const outcome = await this.options.store.advance(entry, previous, next);
    if (outcome === 'fenced') {
      this.push(head);
      throw new NotLeaderError(`beat lost the leader lock before sending ${entry.name}`);
    }
    this.states.set(entry.name, next);
    this.push({ due: now + adjust(nextInMs), seq: head.seq, entry });
    // `conflict`: another beat advanced this entry and sent it; the slot is taken, never resent.
    if (outcome === 'conflict') return 0;
    await this.send(entry);
    await this.maybeSync(now);
    return 0;
  }

  private async send(entry: ScheduleEntry): Promise<void> {
    await applyEntry(this.options.app, entry, this.options.logger);
  }

  /** Celery's `Scheduler.should_sync`: every `sync_every` ms, or every `beat_sync_every` tasks. */
  private async maybeSync(now: number): Promise<void> {
    this.tasksSinceSync++;
    const everyTasks = this.options.syncEveryTasks ?? 0;
    const byTime = now - this.lastSync >= (this.options.syncEveryMs ?? 180_000);
    if (!byTime && !(everyTasks > 0 && this.tasksSinceSync >= everyTasks)) return;
    this.lastSync = now;
    await this.sync();
  }

  /** Flush the store (also at shutdown). */
  async sync(): Promise<void> {
    this.tasksSinceSync = 0;
    await this.options.store.sync();
  }

  async upcoming(): Promise<UpcomingRun[]> {
    const now = this.options.now();
    return soonestFirst(this.options.entries.map((entry) => upcomingRun(entry, this.state(entry), now)));
  }

  private state(entry: ScheduleEntry): EntryState {
    return this.states.get(entry.name) ?? { lastRunAt: this.options.now(), totalRunCount: 0 };
  }

  private less(a: HeapEvent, b: HeapEvent): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(event: HeapEvent): void {
    const h = this.heap;
    h.push(event);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): HeapEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** `Scheduler.apply_entry`: Celery's log line, then an ordinary apply_async; errors are logged. */
export async function applyEntry(app: TaskSender, entry: ScheduleEntry, logger: Logger): Promise<void> {
  logger.info(`Scheduler: Sending due task ${entry.name} (${entry.task})`);
  try {
    const result = await app.sendTask(entry.task, entry.args, entry.kwargs, sendOptions(entry.options));
    logger.debug(`${entry.task} sent. id->${result.id}`);
  } catch (error) {
    logger.error(`Message Error: ${(error as Error).message}`, { entry: entry.name });
  }
}

export function upcomingRun(entry: ScheduleEntry, state: EntryState, now: number): UpcomingRun {
  return { entry, state, nextRunAt: state.lastRunAt === null ? now : entry.schedule.nextRunAt(state.lastRunAt) };
}

export function soonestFirst(runs: UpcomingRun[]): UpcomingRun[] {
  return runs.sort((a, b) => a.nextRunAt - b.nextRunAt || a.entry.name.localeCompare(b.entry.name));
}
