// Lua for the writes Python's Redis backend makes as GET-then-pipeline (celery/backends/base.py
// `_store_result`, celery/backends/redis.py `_set`): here one atomic round trip each.
import type { Redis } from 'ioredis';
import { LuaScript } from '../../transport/redis/lua-script.js';

/**
 * KEYS[1] meta key (= channel); ARGV[1] value; ARGV[2] TTL seconds, 0 = none. Returns 0 when a
 * stored SUCCESS made it skip the write (base.py: "if the status is a success then we ignore any
 * following update"), 1 after SET + PUBLISH.
 */
const STORE_ONE = `
local function store(key, value, ttl)
  local current = redis.call('GET', key)
  if current then
    local ok, doc = pcall(cjson.decode, current)
    if ok then
      if type(doc) == 'table' and doc['status'] == 'SUCCESS' then return 0 end
    elseif string.find(current, '^%s*{%s*"status"%s*:%s*"SUCCESS"') then
      -- cjson rejects some Python JSON (NaN, Infinity); Python writes "status" first.
      return 0
    end
  end
  if ttl > 0 then redis.call('SET', key, value, 'EX', ttl) else redis.call('SET', key, value) end
  redis.call('PUBLISH', key, value)
  return 1
end
`;
const STORE_RESULT = `${STORE_ONE}
return store(KEYS[1], ARGV[1], tonumber(ARGV[2]))
`;

/**
 * The same for many results stored in the same tick (a worker draining a queue): KEYS the meta
 * keys; ARGV[1] TTL, then one value per key. Each key is judged and written exactly as by
 * STORE_RESULT; returns one 0/1 per key.
 */
const STORE_RESULTS = `${STORE_ONE}
local ttl = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do out[i] = store(KEYS[i], ARGV[i + 1], ttl) end
return out
`;

/** KEYS[1] key; ARGV[1] value; ARGV[2] TTL seconds, 0 = none. redis.py `_set`: SETEX/SET + PUBLISH. */
const SET_PUBLISH = `
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

const STORE_RESULT_SCRIPT = new LuaScript(STORE_RESULT);
const STORE_RESULTS_SCRIPT = new LuaScript(STORE_RESULTS);
const SET_PUBLISH_SCRIPT = new LuaScript(SET_PUBLISH);

/** The backend's scripted writes on one client (EVALSHA, EVAL on NOSCRIPT). */
export class ResultScripts {
  constructor(private readonly client: Redis) {}

  /** 1 when stored, 0 when a stored SUCCESS made it skip the write. */
  storeResult(key: string, value: string, ttl: number): Promise<number> {
    return STORE_RESULT_SCRIPT.run(this.client, [key], [value, ttl]) as Promise<number>;
  }

  /** One 0/1 per key, as storeResult. */
  storeResults(keys: string[], values: string[], ttl: number): Promise<number[]> {
    return STORE_RESULTS_SCRIPT.run(this.client, keys, [ttl, ...values]) as Promise<number[]>;
  }

  setPublish(key: string, value: string, ttl: number): Promise<number> {
    return SET_PUBLISH_SCRIPT.run(this.client, [key], [value, ttl]) as Promise<number>;
  }
}
