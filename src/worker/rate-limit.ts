// Per-task rate limits (`rate_limit="10/s"`, "100/m", "1000/h"): Celery's token bucket with
// capacity 1 per task name per worker (celery/worker/consumer/consumer.py bucket_for_task,
// kombu.utils.limits.TokenBucket). Tasks are delayed, never dropped.
//
// Doing better than Celery: a message waiting for a token raises the prefetch window by one (as
// an ETA message does), so waiting messages never occupy slots meant for other task types. At
// most `maxWaiting` messages per task name wait here; a further one is given back to the broker
// (to the back of its queue) after at most a second, so a flood of one rate-limited task neither
// grows the worker's memory nor starves other tasks, and is not re-fetched in a hot loop.
import { ConfigError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Tokens per second for a Celery rate string; null when unlimited ("0", "", null). */
export function parseRate(rate: string | number | null | undefined): number | null {
  if (rate === null || rate === undefined || rate === '') return null;
  if (typeof rate === 'number') return rate > 0 ? rate : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(rate);
  if (!m) throw new ConfigError(`rate_limit must look like "10/s", "100/m" or "1000/h", got ${JSON.stringify(rate)}`);
  const n = Number(m[1]);
  return n > 0 ? n / UNITS[m[2] ?? 's']! : null;
}

/**
 * kombu's TokenBucket with capacity 1 — one token every 1/rate seconds, idle time never banks a
 * second one — kept as a schedule of token times (GCRA): a timer that fires late does not push
 * every later token back, so the rate holds on a busy event loop.
 */
export class TokenBucket {
  private readonly intervalMs: number;
  private nextTokenAt: number;

  constructor(
    perSecond: number,
    private readonly now: () => number,
  ) {
    this.intervalMs = 1000 / perSecond;
    this.nextTokenAt = now();
  }

  /** Take a token if one is there. */
  tryConsume(): boolean {
    const now = this.now();
    if (now < this.nextTokenAt) return false;
    // Late by less than one interval: stay on the schedule. Idle longer: restart from now.
    this.nextTokenAt = (now - this.nextTokenAt >= this.intervalMs ? now : this.nextTokenAt) + this.intervalMs;
    return true;
  }

  /** Milliseconds until a token is available. */
  msUntilToken(): number {
    return Math.max(0, Math.ceil(this.nextTokenAt - this.now()));
  }
}

interface Waiting<T> {
  item: T;
  overflow: boolean;
}

/** Holds items per task name until their bucket has a token. */
export class RateLimiter<T> {
  private readonly buckets = new Map<string, { bucket: TokenBucket; queue: Waiting<T>[]; timer?: NodeJS.Timeout }>();
  private held = 0;

  constructor(
    private readonly options: {
      now: () => number;
      maxWaiting: number;
      /** Called when an item may run. */
      release: (item: T) => void;
      /** Called for an item beyond `maxWaiting`, to give back to the broker. */
      giveBack: (item: T) => void;
      /** Called whenever the number of held items changes (to adjust the prefetch window). */
      onHeldChange: (held: number) => void;
    },
  ) {}

  get size(): number {
    return this.held;
  }

  /** Submit an item of a task with rate `perSecond`; it is released at once when a token is free. */
  submit(taskName: string, perSecond: number, item: T): void {
    let entry = this.buckets.get(taskName);
    if (!entry) this.buckets.set(taskName, (entry = { bucket: new TokenBucket(perSecond, this.options.now), queue: [] }));
    if (entry.queue.length === 0 && entry.bucket.tryConsume()) {
      this.options.release(item);
      return;
    }
    const waiting = entry.queue.filter((w) => !w.overflow).length;
    const overflow = waiting >= this.options.maxWaiting;
    entry.queue.push({ item, overflow });
    this.setHeld(this.held + 1);
    if (overflow) {
      setTimeout(() => this.dropOverflow(taskName, item), Math.min(1000, entry.bucket.msUntilToken())).unref?.();
    }
    this.arm(taskName);
  }

  /** Everything held, removed (shutdown gives them back). */
  drain(): T[] {
    const items: T[] = [];
    for (const entry of this.buckets.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      items.push(...entry.queue.map((w) => w.item));
      entry.queue.length = 0;
    }
    this.setHeld(0);
    return items;
  }

  private dropOverflow(taskName: string, item: T): void {
    const entry = this.buckets.get(taskName);
    const index = entry?.queue.findIndex((w) => w.item === item && w.overflow) ?? -1;
    if (!entry || index < 0) return;
    entry.queue.splice(index, 1);
    this.setHeld(this.held - 1);
    this.options.giveBack(item);
  }

  private arm(taskName: string): void {
    const entry = this.buckets.get(taskName)!;
    if (entry.timer || entry.queue.length === 0) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      while (entry.queue.length > 0 && entry.bucket.tryConsume()) {
        const next = entry.queue.findIndex((w) => !w.overflow);
        const [waiting] = entry.queue.splice(next < 0 ? 0 : next, 1);
        this.setHeld(this.held - 1);
        this.options.release(waiting!.item);
      }
      this.arm(taskName);
    }, entry.bucket.msUntilToken());
  }

  private setHeld(held: number): void {
    this.held = held;
    this.options.onHeldChange(held);
  }
}
