// Beat state on Redis in celery-redbeat's layout (redbeat/schedulers.py `RedBeatConfig`,
// `RedBeatSchedulerEntry.save`): `<prefix><name>` hashes with `definition` / `meta`, the
// `<prefix>:schedule` zset (score = next due, epoch seconds), `<prefix>:statics`. Every advance
// is one Lua script fenced by the leader-lock token, so a beat that lost the lock can never record
// (and so never publish) a slot.
import type { Redis } from 'ioredis';
import type { EntryState, ScheduleEntry } from '../schedule-entry.js';
import type { TimeZone } from '../time-zone.js';
import { decodeMeta, encodeDefinition, encodeMeta } from './redbeat-codec.js';
import type { AdvanceOutcome, ScheduleStore } from './schedule-store.js';

/**
 * KEYS: lock, entry hash, schedule zset. ARGV: token (empty = no lock configured), meta JSON,
 * score, expected run count.
 */
const ADVANCE = `if ARGV[1] ~= '' and redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local meta = redis.call('hget', KEYS[2], 'meta')
if meta then
  local ok, decoded = pcall(cjson.decode, meta)
  if ok and type(decoded) == 'table' and type(decoded.total_run_count) == 'number'
     and decoded.total_run_count ~= tonumber(ARGV[4]) then return -1 end
end
redis.call('hset', KEYS[2], 'meta', ARGV[2])
redis.call('zadd', KEYS[3], ARGV[3], KEYS[2])
return 1`;

export interface RedbeatKeys {
  prefix: string;
  schedule: string;
  statics: string;
  /** null: `redbeat_lock_key = None`, no leader lock. */
  lock: string | null;
}

/**
 * `redbeat_key_prefix` (default `redbeat:`) and `redbeat_lock_key` → the keys; the double colon
 * is redbeat's own, and so is prefixing a lock key that doesn't start with the prefix.
 */
export function redbeatKeys(prefix = 'redbeat:', lockKey?: string | null): RedbeatKeys {
  const lock = lockKey === undefined ? `${prefix}:lock` : lockKey === null || lockKey.startsWith(prefix) ? lockKey : prefix + lockKey;
  return { prefix, schedule: `${prefix}:schedule`, statics: `${prefix}:statics`, lock };
}

export interface RedisStoreOptions {
  keys: RedbeatKeys;
  timezone: TimeZone;
  /** The lock whose token fences every write; null without a lock. */
  lockToken: string | null;
  /**
   * Delete, at load, static entries this table lacks (redbeat's own behaviour; default true).
   * The default scheduler's shared state keeps them: another app may share the Redis.
   */
  prune?: boolean;
  /** Read the states without registering anything (`beat --list`). */
  readOnly?: boolean;
  /**
   * Entries beat adds itself (celery.backend_cleanup): written like the table's but left out of
   * `<prefix>:statics`, as redbeat's `install_default_entries` → `update_from_dict` saves them.
   */
  defaultEntries?: ReadonlySet<string>;
}

export class RedisStore implements ScheduleStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisStoreOptions,
  ) {}

  /** `initial`: states for entries Redis holds none for (else `last_run_at = now`). */
  async load(entries: readonly ScheduleEntry[], now: number, initial?: ReadonlyMap<string, EntryState>): Promise<Map<string, EntryState>> {
    const { keys, timezone } = this.options;
    const fresh = encodeMeta({ lastRunAt: now, totalRunCount: 0 }, timezone);
    const { readOnly = false, prune = true } = this.options;
    if (!readOnly) {
      const names = new Set(entries.map((e) => e.name));
      const stale = prune ? (await this.redis.smembers(keys.statics)).filter((n) => !names.has(n)) : [];
      const tx = this.redis.multi();
      for (const name of stale) tx.del(keys.prefix + name).zrem(keys.schedule, keys.prefix + name).srem(keys.statics, name);
      for (const e of entries) {
        // HSETNX keeps the run state of an entry that survived a restart (redbeat does the same);
        // `initial` seeds an entry Redis has never seen (the -s file's state).
        const first = initial?.get(e.name);
        tx.hset(keys.prefix + e.name, 'definition', encodeDefinition(e)).hsetnx(keys.prefix + e.name, 'meta', first ? encodeMeta(first, timezone) : fresh);
        if (!this.options.defaultEntries?.has(e.name)) tx.sadd(keys.statics, e.name);
      }
      await tx.exec();
    }
    const out = new Map<string, EntryState>();
    const metas = await Promise.all(entries.map((e) => this.redis.hget(keys.prefix + e.name, 'meta')));
    entries.forEach((e, i) => out.set(e.name, decodeMeta(metas[i] ?? null) ?? initial?.get(e.name) ?? { lastRunAt: now, totalRunCount: 0 }));
    if (readOnly) return out;
    const z = this.redis.pipeline();
    for (const e of entries) {
      const s = out.get(e.name)!;
      z.zadd(keys.schedule, s.lastRunAt === null ? Math.floor(now / 1000) : score(e, s.lastRunAt), keys.prefix + e.name);
    }
    await z.exec();
    return out;
  }

  async advance(entry: ScheduleEntry, previous: EntryState, next: EntryState): Promise<AdvanceOutcome> {
    const { keys, timezone, lockToken } = this.options;
    const result = await this.redis.eval(
      ADVANCE,
      3,
      keys.lock ?? keys.schedule, // not read without a token
      keys.prefix + entry.name,
      keys.schedule,
      lockToken ?? '',
      encodeMeta(next, timezone),
      String(score(entry, next.lastRunAt ?? 0)),
      String(previous.totalRunCount),
    );
    return result === 1 ? 'ok' : result === -1 ? 'conflict' : 'fenced';
  }

  /**
   * redbeat's tick selection: the keys due by `now` (score ≤ now in whole seconds) and a peek at
   * the first one due within `horizonMs` after, so the wait can be computed.
   */
  async dueKeys(now: number, horizonMs: number): Promise<string[]> {
    const { schedule } = this.options.keys;
    const nowS = Math.floor(now / 1000);
    const [due, peek] = (await this.redis
      .pipeline()
      .zrangebyscore(schedule, 0, nowS)
      .zrangebyscore(schedule, `(${nowS}`, nowS + Math.ceil(horizonMs / 1000), 'LIMIT', 0, 1)
      .exec())!.map(([error, keys]) => {
      if (error) throw error;
      return keys as string[];
    });
    return [...due!, ...peek!];
  }

  /** Every scheduled key (for `--list`). */
  async allKeys(): Promise<string[]> {
    return this.redis.zrange(this.options.keys.schedule, 0, -1);
  }

  /** The stored definition and state of one key; null when the hash has no definition. */
  async readKey(key: string): Promise<{ definition: string; state: EntryState | null } | null> {
    const [definition, meta] = await this.redis.hmget(key, 'definition', 'meta');
    return definition ? { definition, state: decodeMeta(meta ?? null) } : null;
  }

  /** Drop a key from the schedule (its hash is gone or unreadable), as redbeat does. */
  async unschedule(key: string): Promise<void> {
    await this.redis.zrem(this.options.keys.schedule, key);
  }

  async sync(): Promise<void> {}
  async close(): Promise<void> {}
}

/** redbeat's zset score: the next due time in whole epoch seconds. */
function score(entry: ScheduleEntry, lastRunAt: number): number {
  return Math.floor(entry.schedule.nextRunAt(lastRunAt) / 1000);
}
