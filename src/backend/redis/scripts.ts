// Lua for the writes Python's Redis backend makes as GET-then-pipeline (celery/backends/base.py
// `_store_result`, celery/backends/redis.py `_set`): here one atomic round trip each.
import type { Redis } from 'ioredis';

/**
 * KEYS[1] meta key (= channel); ARGV[1] value; ARGV[2] TTL seconds, 0 = none. Returns 0 when a
 * stored SUCCESS made it skip the write (base.py: "if the status is a success then we ignore any
 * following update"), 1 after SET + PUBLISH.
 */
const STORE_RESULT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok then
    if type(doc) == 'table' and doc['status'] == 'SUCCESS' then return 0 end
  elseif string.find(current, '^%s*{%s*"status"%s*:%s*"SUCCESS"') then
    -- cjson rejects some Python JSON (NaN, Infinity); Python writes "status" first.
    return 0
  end
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

/** KEYS[1] key; ARGV[1] value; ARGV[2] TTL seconds, 0 = none. redis.py `_set`: SETEX/SET + PUBLISH. */
const SET_PUBLISH = `
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

export type ScriptedRedis = Redis & {
  celeryStoreResult(key: string, value: string, ttl: number): Promise<number>;
  celerySetPublish(key: string, value: string, ttl: number): Promise<number>;
};

/** Register the scripts on a client (EVALSHA, loading them on NOSCRIPT). */
export function defineResultScripts(client: Redis): ScriptedRedis {
  client.defineCommand('celeryStoreResult', { numberOfKeys: 1, lua: STORE_RESULT });
  client.defineCommand('celerySetPublish', { numberOfKeys: 1, lua: SET_PUBLISH });
  return client as ScriptedRedis;
}
