// The Lua scripts of the Redis transport, run by SHA1 (EVALSHA, EVAL on NOSCRIPT; lua-script.ts).
// They do kombu's bookkeeping (kombu/transport/redis.py `QoS.append`, `restore_by_tag`) in one
// round trip per batch.
import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script.js';

/**
 * Registers one popped message exactly as kombu's QoS.append does: `ZADD unacked_index <now>
 * <tag>` and `HSET unacked <tag> '[<envelope>, "<exchange>", "<routing_key>"]'`. The array is
 * built around the RAW envelope (re-encoding with cjson would alter floats and escapes); cjson
 * only reads the tag and delivery_info, under pcall so a bad payload cannot abort the script.
 * Without delivery_info the message is filed under ('', <queue>), which restores it to the queue
 * it came from. Returns the delivery tag, or nil when the payload has no usable one.
 */
const REGISTER_FN = `
local function register(raw, queue, now, zargs, hargs)
  local ok, env = pcall(cjson.decode, raw)
  if not ok or type(env) ~= 'table' or type(env['properties']) ~= 'table' then return nil end
  local props = env['properties']
  local tag = props['delivery_tag']
  if type(tag) ~= 'string' or tag == '' then return nil end
  local ex, rk
  local di = props['delivery_info']
  if type(di) == 'table' then ex = di['exchange']; rk = di['routing_key'] end
  if type(ex) ~= 'string' or type(rk) ~= 'string' then ex = ''; rk = queue end
  zargs[#zargs + 1] = now
  zargs[#zargs + 1] = tag
  hargs[#hargs + 1] = tag
  hargs[#hargs + 1] = '[' .. raw .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']'
  return tag
end
local function flush(zargs, hargs)
  if #zargs > 0 then
    redis.call('ZADD', KEYS[2], unpack(zargs))
    redis.call('HSET', KEYS[1], unpack(hargs))
  end
end
`;

/**
 * Pops up to ARGV[1] messages and registers them. KEYS: unacked, unacked_index, then the lists
 * step-major (for each step, for each queue). ARGV: n, now (epoch seconds), queue count, rotate
 * (1 = round robin), max size (see below), then the queue names. The first non-empty list in the current order wins;
 * with round robin the queue it belongs to moves to the end of the order after each pop (kombu
 * `_brpop_read` → `rotate`). Lists found empty stay empty for the rest of the script (it is
 * atomic), so each is tried once. Returns a flat array: queue index (1-based), step index
 * (0-based), raw, delivery tag ('' = not registered: undecodable). ARGV[5] > 0 is the largest
 * envelope in bytes: a longer one is popped but neither decoded nor registered (rejected), and
 * comes back as its last 4 KiB with tag '!<size>'.
 */
const FETCH = `${REGISTER_FN}
local n = tonumber(ARGV[1])
local now = ARGV[2]
local nq = tonumber(ARGV[3])
local rotating = ARGV[4] == '1' and nq > 1
local maxsize = tonumber(ARGV[5])
local steps = (#KEYS - 2) / nq
local order = {}
for q = 1, nq do order[q] = q end
local empty = {}
local out, zargs, hargs = {}, {}, {}
local got = 0
while got < n do
  local popped, from, step = nil, nil, nil
  for s = 0, steps - 1 do
    for i = 1, nq do
      local q = order[i]
      local k = 3 + s * nq + (q - 1)
      if not empty[k] then
        local want = rotating and 1 or (n - got)
        local items = redis.call('RPOP', KEYS[k], want)
        if items then
          if #items < want then empty[k] = true end
          popped, from, step = items, i, s
          break
        end
        empty[k] = true
      end
    end
    if popped then break end
  end
  if not popped then break end
  local q = order[from]
  for _, raw in ipairs(popped) do
    got = got + 1
    out[#out + 1] = q
    out[#out + 1] = step
    if maxsize > 0 and #raw > maxsize then
      out[#out + 1] = string.sub(raw, -4096)
      out[#out + 1] = '!' .. #raw
    else
      local tag = register(raw, ARGV[5 + q], now, zargs, hargs)
      out[#out + 1] = raw
      out[#out + 1] = tag or ''
    end
  end
  if rotating then
    table.remove(order, from)
    order[#order + 1] = q
  end
end
flush(zargs, hargs)
return out
`;

/**
 * Registers one message popped by BRPOP. KEYS: unacked, unacked_index. ARGV: raw, queue, now.
 * Returns the delivery tag ('' = not registered).
 */
const REGISTER = `${REGISTER_FN}
local zargs, hargs = {}, {}
local tag = register(ARGV[1], ARGV[2], ARGV[3], zargs, hargs)
flush(zargs, hargs)
return tag or ''
`;

/** Ack / reject without requeue: ZREM + HDEL of many tags at once. KEYS: unacked, index. */
const ACK = `
redis.call('ZREM', KEYS[2], unpack(ARGV))
redis.call('HDEL', KEYS[1], unpack(ARGV))
return #ARGV
`;

/**
 * Restores messages from the unacked hash, atomically per message. KEYS: unacked, index.
 * ARGV[1] = push command ('LPUSH' = back of the queue, reject+requeue; 'RPUSH' = front, restore),
 * then per message: tag, match ('=' full value / '[' envelope prefix), expected, envelope to push,
 * target count, target lists… The message is restored only while the hash still holds the value
 * we expect (our own fetch, or the entry we read during a sweep): if someone else restored it
 * already it is gone (or re-registered by another consumer) and we must not push a duplicate.
 * A tag missing from the hash is removed from the index too (kombu `restore_by_tag`).
 * Returns one integer per message: 1 restored, 0 skipped.
 */
const RESTORE = `
local push = ARGV[1]
local out = {}
local i = 2
while i <= #ARGV do
  local tag, match, expected, env = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local nt = tonumber(ARGV[i + 4])
  local stored = redis.call('HGET', KEYS[1], tag)
  local mine
  if match == '=' then mine = stored == expected
  else mine = stored and string.sub(stored, 1, #expected + 1) == '[' .. expected end
  if mine or not stored then
    redis.call('ZREM', KEYS[2], tag)
    redis.call('HDEL', KEYS[1], tag)
  end
  if mine then
    for t = 1, nt do redis.call(push, ARGV[i + 4 + t], env) end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  i = i + 5 + nt
end
return out
`;

/** Releases the restore mutex only while it still holds our token (redis-py Lock.release). */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const SCRIPTS = {
  fetch: new LuaScript(FETCH),
  register: new LuaScript(REGISTER),
  ack: new LuaScript(ACK),
  restore: new LuaScript(RESTORE),
  unlock: new LuaScript(UNLOCK),
};

/** One fetched list entry: where it was popped from, its raw text and registered tag. */
export interface FetchedEntry {
  /** The queue it was popped from. */
  queue: string;
  /** Index into the queue names given. */
  queueIndex: number;
  /** Index into the priority steps. */
  stepIndex: number;
  raw: string;
  /** The delivery tag it was registered under; '' when it could not be (undecodable or too large). */
  tag: string;
  /** Set when the entry was over the size limit: its size in bytes (`raw` is then only its end). */
  tooLarge?: number;
}

/** Restore request for one message; see RESTORE above. */
export interface RestoreItem {
  tag: string;
  match: '=' | '[';
  expected: string;
  envelope: string;
  targets: string[];
}

/** Typed calls of the scripts on one connection. */
export class RedisScripts {
  constructor(private readonly redis: Redis) {}

  private call(name: keyof typeof SCRIPTS, keys: string[], args: (string | number)[]): Promise<unknown> {
    return SCRIPTS[name].run(this.redis, keys, args);
  }

  async fetch(unacked: string, index: string, lists: string[], queues: string[], n: number, now: string, rotate: boolean, maxSize = 0): Promise<FetchedEntry[]> {
    const flat = (await this.call('fetch', [unacked, index, ...lists], [n, now, queues.length, rotate ? 1 : 0, maxSize, ...queues])) as (number | string)[];
    const out: FetchedEntry[] = [];
    for (let i = 0; i < flat.length; i += 4) {
      const tag = String(flat[i + 3]);
      const queueIndex = Number(flat[i]) - 1;
      // The queue is set here, not copied in later with `{ ...entry, queue }`: a spread followed
      // by more properties gives every object its own map in Node 20's V8, and at full drain
      // such copies had each message's raw text promoted to old space.
      const entry: FetchedEntry = { queue: queues[queueIndex]!, queueIndex, stepIndex: Number(flat[i + 1]), raw: String(flat[i + 2]), tag };
      if (tag.startsWith('!')) {
        entry.tag = '';
        entry.tooLarge = Number(tag.slice(1));
      }
      out.push(entry);
    }
    return out;
  }

  async register(unacked: string, index: string, raw: string, queue: string, now: string): Promise<string> {
    return String(await this.call('register', [unacked, index], [raw, queue, now]));
  }

  async ack(unacked: string, index: string, tags: string[]): Promise<void> {
    await this.call('ack', [unacked, index], tags);
  }

  async restore(unacked: string, index: string, push: 'LPUSH' | 'RPUSH', items: readonly RestoreItem[]): Promise<boolean[]> {
    const args: string[] = [push];
    for (const it of items) args.push(it.tag, it.match, it.expected, it.envelope, String(it.targets.length), ...it.targets);
    const res = (await this.call('restore', [unacked, index], args)) as number[];
    return res.map((r) => Number(r) === 1);
  }

  async unlock(key: string, token: string): Promise<void> {
    await this.call('unlock', [key], [token]);
  }
}
