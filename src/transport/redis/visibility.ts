// The visibility sweep: messages unacked for longer than visibility_timeout go back to the front
// of their queue, under the `unacked_mutex` lock (kombu/transport/redis.py
// `QoS.restore_visible`, `Mutex`). Python workers run the same sweep on the same keys.
import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys.js';
import { parseUnackedValue, type UnackedEntry, type UnackedLedger } from './qos.js';
import type { RedisScripts, RestoreItem } from './scripts.js';

export interface SweepDeps {
  redis: Redis;
  keys: RedisKeys;
  scripts: RedisScripts;
  ledger: UnackedLedger;
  visibilityTimeout: number;
  unackedMutexExpire: number;
  unackedRestoreLimit: number | null;
  /** Epoch milliseconds. */
  now: () => number;
  newToken: () => string;
  /** Where a stored message goes back to, and the envelope to push (marked redelivered). */
  plan: (entry: UnackedEntry) => Promise<{ envelope: string; targets: string[] }>;
  onDropped: (reason: string, raw: string) => void;
}

export class VisibilitySweeper {
  constructor(private readonly d: SweepDeps) {}

  /**
   * One sweep; returns how many messages were put back. Skips (returns 0) while another consumer
   * — ours or Python's — holds the lock, as kombu does on MutexHeld.
   */
  async sweep(): Promise<number> {
    const { redis, keys } = this.d;
    const token = this.d.newToken();
    const locked = await redis.set(keys.unackedMutex, token, 'PX', Math.round(this.d.unackedMutexExpire * 1000), 'NX');
    if (locked !== 'OK') return 0;
    try {
      const ceil = this.d.now() / 1000 - this.d.visibilityTimeout;
      // kombu ≥5.7: ZRANGE … BYSCORE REV (newest first), LIMIT only with unacked_restore_limit.
      const limit = this.d.unackedRestoreLimit ? ['LIMIT', 0, this.d.unackedRestoreLimit] : [];
      const tags = (await redis.call('ZRANGE', keys.unackedIndex, String(ceil), '0', 'BYSCORE', 'REV', ...limit)) as string[];
      if (tags.length === 0) return 0;
      const values = await redis.hmget(keys.unacked, ...tags);
      const items: RestoreItem[] = [];
      const dropped = new Map<number, string>();
      for (const [i, tag] of tags.entries()) {
        const value = values[i];
        // A tag without a hash entry is only cleaned from the index (kombu restore_by_tag).
        const item: RestoreItem = { tag, match: '=', expected: value ?? '', envelope: '', targets: [] };
        if (value != null) {
          try {
            Object.assign(item, await this.d.plan(parseUnackedValue(value)));
            if (item.targets.length === 0) dropped.set(i, `no queue is bound for the exchange/routing key of unacked message ${tag}`);
          } catch (err) {
            // kombu would fail on every sweep forever; we remove the entry and report it.
            dropped.set(i, `unacked message ${tag} cannot be restored: ${(err as Error).message}`);
          }
        }
        items.push(item);
      }
      // Pushed in this order with RPUSH: the oldest ends up at the very front, as in kombu.
      const done = await this.d.ledger.restoreNow(items, false);
      let restored = 0;
      done.forEach((ok, i) => {
        if (!ok) return;
        const reason = dropped.get(i);
        if (reason !== undefined) this.d.onDropped(reason, values[i] ?? '');
        else restored++;
      });
      return restored;
    } finally {
      await this.d.scripts.unlock(keys.unackedMutex, token).catch(() => undefined);
    }
  }
}
