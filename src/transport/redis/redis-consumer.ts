// The fetch loop of one consumer: batches of up to the free prefetch popped and registered by
// one script call, BRPOP on a dedicated connection when the queues are empty
// (kombu/transport/redis.py `Channel._brpop_start` / `_brpop_read`; kombu/transport/virtual/base.py
// `QoS.can_consume`).
import type { Redis } from 'ioredis';
import type { Consumer, Delivery } from '../transport.js';
import { backoffMs, type ConnectionHealth } from './health.js';
import type { RedisKeys } from './keys.js';
import { fetchOrder, rotate } from './priority.js';
import { PrefetchWindow } from './qos.js';
import type { FetchedEntry, RedisScripts, RestoreItem } from './scripts.js';

/** A batch never exceeds this, even with prefetch 0 (unlimited). */
const MAX_BATCH = 100;

/** What a consumer needs from its transport. */
export interface ConsumerHost {
  readonly main: Redis;
  readonly scripts: RedisScripts;
  readonly keys: RedisKeys;
  readonly health: ConnectionHealth;
  readonly strategy: 'round_robin' | 'sorted' | 'priority';
  /** Seconds one BRPOP blocks. */
  readonly brpopTimeout: number;
  /** `ZADD` score: epoch seconds as text. */
  nowScore(): string;
  newBlockingConnection(name: string): Redis;
  /** Decode a registered entry; null when it could not be (the host reported and removed it). */
  toDelivery(entry: FetchedEntry, onSettled: () => void): Delivery | null;
  /** Report a popped entry that could not even be registered. */
  dropped(entry: FetchedEntry): void;
  /** Report a popped entry over the size limit (never registered: it is gone, i.e. rejected). */
  tooLarge(entry: FetchedEntry, limit: number): void;
  /** Put registered entries back at the front, unchanged (fetched after cancel, never delivered). */
  putBack(items: RestoreItem[]): Promise<void>;
  consumerClosed(consumer: RedisConsumer): void;
}

export class RedisConsumer implements Consumer {
  private readonly names: string[];
  private order: string[];
  private readonly window: PrefetchWindow;
  private running = true;
  private wakeUp: (() => void) | null = null;
  private blocking: Redis | null = null;
  private blockingId: string | null = null;
  private brpopInFlight = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly host: ConsumerHost,
    /** Names this consumer's connection and health entry. */
    private readonly id: string,
    queues: string[],
    prefetch: number,
    private readonly onDelivery: (delivery: Delivery) => void,
    /** Largest envelope in bytes (0 = no limit); see ConsumeOptions.maxMessageSize. */
    private readonly maxSize = 0,
  ) {
    this.names = [...new Set(queues)];
    this.order = fetchOrder(this.names, host.strategy);
    this.window = new PrefetchWindow(prefetch);
    this.done = this.run();
  }

  get queues(): readonly string[] {
    return [...this.names];
  }

  setPrefetch(prefetch: number): void {
    this.window.set(prefetch);
    this.wake();
  }

  addQueue(queue: string): void {
    if (this.names.includes(queue)) return;
    this.names.push(queue);
    this.order = this.host.strategy === 'sorted' ? fetchOrder(this.names, 'sorted') : [...this.order, queue];
    this.interrupt();
  }

  removeQueue(queue: string): void {
    if (!this.names.includes(queue)) return;
    this.names.splice(this.names.indexOf(queue), 1);
    this.order = this.order.filter((q) => q !== queue);
    this.interrupt();
  }

  async cancel(): Promise<void> {
    if (this.running) {
      this.running = false;
      this.interrupt();
      // A BRPOP that neither returns nor can be unblocked (broker unreachable) popped nothing:
      // dropping its connection is then safe and ends the loop.
      const guard = setTimeout(() => this.blocking?.disconnect(), this.host.brpopTimeout * 1000 + 2000);
      try {
        await this.done;
      } finally {
        clearTimeout(guard);
      }
      this.blocking?.disconnect();
      this.host.health.forget(this.id);
      this.host.consumerClosed(this);
    }
    await this.done;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const free = this.window.free(MAX_BATCH);
      if (this.order.length === 0 || free === 0) {
        await this.sleep();
        // Let settles of the same I/O turn accumulate, so the next batch is larger.
        await new Promise((r) => setImmediate(r));
        continue;
      }
      try {
        const got = await this.fetchBatch(free);
        if (got === 0 && this.running) await this.fetchBlocking();
        if (failures > 0) this.host.health.ok(this.id);
        failures = 0;
      } catch (err) {
        if (!this.running) break;
        failures++;
        this.host.health.lost(this.id, err instanceof Error ? err : new Error(String(err)));
        await this.sleep(backoffMs(failures));
      }
    }
  }

  private async fetchBatch(n: number): Promise<number> {
    const queues = [...this.order];
    const { keys } = this.host;
    const entries = await this.host.scripts.fetch(keys.unacked, keys.unackedIndex, keys.fetchLists(queues), queues, n, this.host.nowScore(), this.host.strategy === 'round_robin', this.maxSize);
    await this.accept(entries);
    return entries.length;
  }

  private async fetchBlocking(): Promise<void> {
    const queues = [...this.order];
    const { keys } = this.host;
    const lists = keys.fetchLists(queues);
    const conn = (this.blocking ??= this.openBlocking());
    this.blockingId ??= String(await conn.client('ID'));
    if (!this.running || queues.join('\0') !== this.order.join('\0')) return;
    this.brpopInFlight = true;
    let popped: [string, string] | null;
    try {
      popped = await conn.brpop(...lists, this.host.brpopTimeout);
    } finally {
      this.brpopInFlight = false;
    }
    if (!popped) return;
    const [key, raw] = popped;
    const at = lists.indexOf(key);
    if (at === -1 || !this.running) {
      // Cancelled while BRPOP was in flight: never delivered, so back to the front unchanged.
      await this.host.main.rpush(key, raw);
      return;
    }
    const entry: FetchedEntry = { queueIndex: at % queues.length, stepIndex: Math.floor(at / queues.length), raw, tag: '', queue: queues[at % queues.length]! };
    // BRPOP has already brought it here; over the limit it is not even sent back to register.
    if (this.maxSize > 0 && raw.length > this.maxSize) {
      this.host.tooLarge({ ...entry, raw: raw.slice(-4096), tooLarge: Buffer.byteLength(raw) }, this.maxSize);
      return;
    }
    entry.tag = await this.host.scripts.register(keys.unacked, keys.unackedIndex, raw, entry.queue, this.host.nowScore());
    await this.accept([entry]);
  }

  /** Deliver fetched entries (in pop order), or put them back if we were cancelled meanwhile. */
  private async accept(entries: FetchedEntry[]): Promise<void> {
    if (!this.running) {
      const steps = this.host.keys.prioritySteps;
      entries.filter((e) => e.tooLarge !== undefined).forEach((e) => this.host.tooLarge(e, this.maxSize));
      const back = entries
        .filter((e) => e.tag)
        .map((e) => ({ tag: e.tag, match: '[' as const, expected: e.raw, envelope: e.raw, targets: [this.host.keys.list(e.queue, steps[e.stepIndex]!)] }));
      entries.filter((e) => !e.tag && e.tooLarge === undefined).forEach((e) => this.host.dropped(e));
      // RPUSH one by one puts the last at the very front: reverse to keep pop order.
      await this.host.putBack(back.reverse());
      return;
    }
    for (const entry of entries) {
      if (this.host.strategy === 'round_robin') rotate(this.order, entry.queue);
      if (entry.tooLarge !== undefined) {
        this.host.tooLarge(entry, this.maxSize);
        continue;
      }
      if (!entry.tag) {
        this.host.dropped(entry);
        continue;
      }
      const delivery = this.host.toDelivery(entry, () => {
        this.window.release();
        this.wake();
      });
      if (!delivery) continue;
      this.window.take();
      try {
        this.onDelivery(delivery);
      } catch {
        // The callback's own failure must not stop the fetch loop; the delivery stays unsettled
        // and is restored on close like any other.
      }
    }
  }

  private openBlocking(): Redis {
    const conn = this.host.newBlockingConnection(`${this.id}-brpop`);
    conn.on('close', () => {
      this.blockingId = null;
    });
    return conn;
  }

  /** Stop a BRPOP in flight so the loop sees a new queue set or the cancel at once. */
  private interrupt(): void {
    this.wake();
    void this.unblock();
  }

  private async unblock(): Promise<void> {
    // CLIENT UNBLOCK makes BRPOP return as if timed out: atomically, so a popped message is never
    // lost. It may reach the server before the BRPOP itself: retry briefly, then give up (BRPOP
    // ends by itself within brpop_timeout).
    const deadline = Date.now() + this.host.brpopTimeout * 1000;
    while (this.brpopInFlight && Date.now() < deadline) {
      const id = this.blockingId;
      const n = id ? await this.host.main.client('UNBLOCK', id).catch(() => 0) : 0;
      if (Number(n) === 1) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => finish(), ms);
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      this.wakeUp = finish;
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }
}
