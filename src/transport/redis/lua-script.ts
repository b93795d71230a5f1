// A Lua script run by its SHA1, as redis-py runs one (redis/commands/core.py `Script.__call__`:
// EVALSHA, and EVAL when the server answers NOSCRIPT — after a restart, a failover or SCRIPT FLUSH).
//
// Not ioredis' defineCommand: its script commands had V8 promote almost every reply to old space.
// Measured with 5,000 calls that each return 100 entries of ~1 KB (the transport's fetch), in
// steady state: a defineCommand script promoted ~150 MB and forced 11 full collections, while
// the same EVALSHA sent as a plain command promoted 9 MB, as LRANGE does.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class LuaScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return redis.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    });
  }
}
