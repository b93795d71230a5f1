// The beat leader lock, compatible with celery-redbeat's `redbeat::lock` (a redis-py Lock: a
// token string set with NX + PX, extended to the full timeout every tick, released only by its
// owner). Two beats on one Redis therefore never tick at the same time (redbeat/schedulers.py
// `acquire_distributed_beat_lock`, `RedBeatScheduler.tick`); `-S redbeat` and the default
// scheduler (whenever a Redis is configured) both hold one.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// redis-py's LUA_EXTEND_SCRIPT with replace_ttl, and LUA_RELEASE_SCRIPT: only the owner may act.
const EXTEND = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('pexpire', KEYS[1], ARGV[2]) return 1`;
const RELEASE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('del', KEYS[1]) return 1`;

export interface LeaderLock {
  readonly key: string;
  readonly token: string;
  /** Who this beat is in log lines (host:pid), when the lock carries it. */
  readonly owner?: string;
  readonly timeoutMs: number;
  /** SET NX PX: true when we hold the lock now. */
  acquire(): Promise<boolean>;
  /** Extend to the full timeout; false when the lock is no longer ours. */
  renew(): Promise<boolean>;
  /** Delete the lock if it is still ours. */
  release(): Promise<void>;
  /** Who holds the lock now, when the lock says; null otherwise. */
  holder?(): Promise<string | null>;
}

export interface RedisLeaderLockOptions {
  /**
   * Written into the token (`owner/random`) so a standby can say who leads. RedBeat's lock
   * keeps a bare random token, as redis-py's Lock writes it.
   */
  owner?: string;
}

export class RedisLeaderLock implements LeaderLock {
  readonly token: string;
  readonly owner?: string;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly timeoutMs: number,
    options: RedisLeaderLockOptions = {},
  ) {
    if (!(timeoutMs > 0)) throw new RangeError(`lock timeout must be positive, got ${timeoutMs}`);
    const random = randomBytes(16).toString('hex');
    this.owner = options.owner;
    this.token = options.owner ? `${options.owner}/${random}` : random;
  }

  async acquire(): Promise<boolean> {
    const ok = await this.redis.set(this.key, this.token, 'PX', Math.ceil(this.timeoutMs), 'NX');
    if (ok === 'OK') return true;
    // Re-acquiring a lock we still hold counts as holding it.
    return (await this.renew()) === true;
  }

  async renew(): Promise<boolean> {
    return (await this.redis.eval(EXTEND, 1, this.key, this.token, String(Math.ceil(this.timeoutMs)))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }

  /** The owner named in the lock's token; null when nobody holds it or the token names nobody (redbeat's). */
  async holder(): Promise<string | null> {
    const value = await this.redis.get(this.key);
    return value === null ? null : (/^(.+)\/[0-9a-f]{32}$/.exec(value)?.[1] ?? null);
  }
}
