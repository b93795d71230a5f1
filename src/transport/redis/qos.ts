// Client-side QoS of the Redis transport: the prefetch window and the unacked bookkeeping
// (kombu/transport/redis.py `QoS`; kombu/transport/virtual/base.py `QoS.can_consume`). Acks and
// restores issued in the same tick are batched into one script call each, so thousands per second
// cost few round trips.
import { ProtocolError } from '../../errors.js';
import type { RedisScripts, RestoreItem } from './scripts.js';

/** How many deliveries may be unsettled at once; 0 = unlimited (batches are capped instead). */
export class PrefetchWindow {
  private held = 0;

  constructor(private limit: number) {}

  get unsettled(): number {
    return this.held;
  }

  set(limit: number): void {
    this.limit = limit;
  }

  /** How many more messages may be fetched now, at most `cap`. */
  free(cap: number): number {
    return this.limit === 0 ? cap : Math.max(0, Math.min(cap, this.limit - this.held));
  }

  take(n = 1): void {
    this.held += n;
  }

  release(): void {
    this.held = Math.max(0, this.held - 1);
  }
}

/** One entry of the `unacked` hash: `[<envelope>, "<exchange>", "<routing_key>"]`. */
export interface UnackedEntry {
  /** The envelope exactly as stored (a substring of the hash value, not re-encoded). */
  envelope: string;
  exchange: string;
  routingKey: string;
}

/**
 * Split a stored unacked value into the raw envelope text and its exchange/routing key. The
 * envelope is cut out of the text rather than re-serialized, so restoring pushes the bytes the
 * publisher wrote (plus the redelivered flags).
 */
export function parseUnackedValue(text: string): UnackedEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError('unacked', 'value is not JSON', { cause });
  }
  if (!Array.isArray(value) || value.length < 3 || typeof value[0] !== 'object' || value[0] === null) {
    throw new ProtocolError('unacked', 'value is not [envelope, exchange, routing_key]');
  }
  const [, exchange, routingKey] = value as [unknown, unknown, unknown];
  const start = text.indexOf('{');
  return {
    envelope: text.slice(start, endOfJsonObject(text, start)),
    exchange: typeof exchange === 'string' ? exchange : '',
    routingKey: typeof routingKey === 'string' ? routingKey : '',
  };
}

/** Index just past the JSON object starting at `start` (the text is known to be valid JSON). */
function endOfJsonObject(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (--depth === 0) return i + 1;
    }
  }
  return text.length;
}

const MAX_BATCH = 1000;

interface Pending<T> {
  item: T;
  resolve: (value: boolean) => void;
  reject: (error: unknown) => void;
}

/** Acks and restores against the unacked hash/index, batched per tick. */
export class UnackedLedger {
  private acks: Pending<string>[] = [];
  private restores: Record<'LPUSH' | 'RPUSH', Pending<RestoreItem>[]> = { LPUSH: [], RPUSH: [] };
  private scheduled = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly scripts: RedisScripts,
    private readonly unackedKey: string,
    private readonly indexKey: string,
  ) {}

  /** ZREM + HDEL (kombu `_remove_from_indices`). */
  ack(tag: string): Promise<void> {
    return this.enqueue(this.acks, tag).then(() => undefined);
  }

  /**
   * Restore atomically; `back` = LPUSH (reject with requeue, kombu's "leftmost"), else RPUSH to
   * the front. Resolves true when this call restored it, false when the hash no longer held it.
   */
  restore(item: RestoreItem, back: boolean): Promise<boolean> {
    return this.enqueue(this.restores[back ? 'LPUSH' : 'RPUSH'], item);
  }

  /** Restore many in one script call, in the given push order. */
  restoreNow(items: readonly RestoreItem[], back: boolean): Promise<boolean[]> {
    return items.length === 0 ? Promise.resolve([]) : this.scripts.restore(this.unackedKey, this.indexKey, back ? 'LPUSH' : 'RPUSH', items);
  }

  /** Resolves once everything enqueued so far has reached Redis (or failed). */
  async idle(): Promise<void> {
    while (this.scheduled || this.inflight.size > 0) {
      if (this.scheduled) await new Promise((r) => setImmediate(r));
      await Promise.allSettled([...this.inflight]);
    }
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
  }

  private enqueue<T>(queue: Pending<T>[], item: T): Promise<boolean> {
    return new Promise((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const acks = this.acks.splice(0);
    for (let i = 0; i < acks.length; i += MAX_BATCH) {
      const batch = acks.slice(i, i + MAX_BATCH);
      this.track(
        this.scripts.ack(this.unackedKey, this.indexKey, batch.map((p) => p.item)).then(
          () => batch.forEach((p) => p.resolve(true)),
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        ),
      );
    }
    for (const push of ['LPUSH', 'RPUSH'] as const) {
      const batch = this.restores[push].splice(0);
      if (batch.length === 0) continue;
      // RPUSH puts each at the very front: push the batch in reverse so the first restored is
      // the next one popped and the messages keep their relative order.
      const ordered = push === 'RPUSH' ? [...batch].reverse() : batch;
      this.track(
        this.scripts.restore(this.unackedKey, this.indexKey, push, ordered.map((p) => p.item)).then(
          (done) => ordered.forEach((p, i) => p.resolve(done[i] ?? false)),
          (err: unknown) => ordered.forEach((p) => p.reject(err)),
        ),
      );
    }
  }
}
