// Chord counters on Redis, as celery/backends/redis.py keeps them (`RedisBackend.set_chord_size`,
// `RedisBackend.on_chord_part_return`): the producer stores the header size in `.s`; each finished
// header task adds itself to the join set `.j`; whoever brings the count to `.s` + `.t` completes
// the chord. Knows no tasks, only values.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DecodeError, TransportError } from '../../errors.js';
import { jsonDecode, jsonEncode } from '../../protocol/codecs/json.js';
import type { ResultTuple } from '../../protocol/result-meta.js';
import type { ChordCounter, ChordEntry, ChordPart, ChordPartOutcome } from '../chord-counter.js';
import { LuaScript } from '../../transport/redis/lua-script.js';
import { decodeGroup } from '../meta-codec.js';
import type { ResultKeys } from './keys.js';
import type { RedisBackend } from './redis-backend.js';

export type { ChordEntry, ChordPart, ChordPartOutcome } from '../chord-counter.js';

export interface RedisChordStoreOptions {
  /** `result_backend_transport_options.result_chord_ordered` (default true: a zset, else a list). */
  ordered?: boolean;
}

export class RedisChordStore implements ChordCounter {
  private readonly ordered: boolean;

  constructor(
    private readonly client: Redis,
    private readonly keys: ResultKeys,
    /** `result_expires` in seconds; 0 = the keys never expire. */
    private readonly ttlSeconds: number,
    options: RedisChordStoreOptions = {},
  ) {
    this.ordered = options.ordered ?? true;
  }

  /** The store writing next to a backend's results (same connection, prefix and TTL). */
  static forBackend(backend: RedisBackend, options?: RedisChordStoreOptions): RedisChordStore {
    return new RedisChordStore(backend.redis, backend.keys, backend.ttlSeconds, options);
  }

  /** Producer side, before the last header task is sent: redis.py `set_chord_size` (SETEX + PUBLISH). */
  async setChordSize(groupId: string, size: number): Promise<void> {
    const key = this.keys.chordSize(groupId);
    const multi = this.client.multi();
    if (this.ttlSeconds > 0) multi.setex(key, this.ttlSeconds, String(size));
    else multi.set(key, String(size));
    await exec(multi.publish(key, String(size)), key);
  }

  /** `Backend.apply_chord` on Redis: only the header's size is recorded. */
  async applyChord(groupId: string, header: ResultTuple[]): Promise<void> {
    await this.setChordSize(groupId, header.length);
  }

  /** A task joined the running chord (`Task.add_to_chord`, `replace`): redis.py `add_to_chord`. */
  async addToChord(groupId: string): Promise<void> {
    const key = this.keys.chordAdjust(groupId);
    await exec(this.client.multi().incrby(key, 1), key);
  }

  /**
   * redis.py `on_chord_part_return` as Celery 5.7 runs it (its CHORD_PART_RETURN_LUA, verbatim in
   * semantics): record one header outcome once (`.d` de-duplicates redeliveries), count, and — for
   * the task that completes the chord — take the dispatch claim `.c` in the same script, so
   * exactly one worker, Python or TypeScript, sends the body. Older Celery workers, which know no
   * `.d`/`.c`, still count the same `.j` set.
   */
  async onChordPartReturn(part: ChordPart): Promise<ChordPartOutcome> {
    const g = part.groupId;
    const jkey = this.keys.chordJoin(g);
    const score = part.groupIndex ?? '+inf';
    const token = randomUUID().replace(/-/g, '');
    const reply = (await CHORD_PART_RETURN.run(
      this.client,
      [jkey, this.keys.chordAdjust(g), this.keys.chordSize(g), this.keys.chordDedup(g), this.keys.group(g), this.keys.chordClaim(g)],
      [part.taskId, pythonJson([1, part.taskId, part.state, part.result]), this.ordered ? '1' : '0', String(score), String(this.ttlSeconds), String(this.ttlSeconds), String(CLAIM_EXPIRES_S), token],
    ).catch((cause: Error) => {
      throw new TransportError(`chord bookkeeping on ${jkey} failed: ${cause.message}`, { cause });
    })) as [number, string | null, string | null, number];
    const [readyCount, adjust, size, claimed] = reply;
    if (readyCount === -1 || !size || claimed !== 1) return { complete: false };
    const total = Number(size) + Number(adjust ?? 0);
    if (readyCount !== total) return { complete: false };
    const groupKey = this.keys.group(g);
    const read = this.client.multi().get(groupKey);
    if (this.ordered) read.zrange(jkey, 0, -1);
    else read.lrange(jkey, 0, total);
    const [savedRaw, members] = (await exec(read, jkey)) as [string | null, string[]];
    return { complete: true, results: members.map((m) => decodeEntry(m, jkey)), savedGroup: decodeGroup(savedRaw, groupKey), claimToken: token };
  }

  /**
   * After the body was sent (or failed): CHORD_CLEANUP_LUA — if we still hold the claim, delete
   * `.j .t .s .d` and leave a `done` marker so a late duplicate cannot restart the chord.
   */
  async finishChord(groupId: string, claimToken: string): Promise<boolean> {
    const g = groupId;
    const keys = [this.keys.chordClaim(g), this.keys.chordJoin(g), this.keys.chordAdjust(g), this.keys.chordSize(g), this.keys.chordDedup(g)];
    return (await CHORD_CLEANUP.run(this.client, keys, [claimToken, String(DONE_EXPIRES_S)])) === 1;
  }

  /** Before 5.7 the chord keys were simply deleted (kept for producers that manage a chord themselves). */
  async deleteChord(groupId: string): Promise<void> {
    const keys = [this.keys.chordJoin(groupId), this.keys.chordAdjust(groupId), this.keys.chordSize(groupId)];
    await exec(this.client.multi().del(...keys), keys[0]!);
  }
}

/** celery/backends/redis.py (5.7): claim_expires = max(5, int(join_timeout × 2)), join timeout 3 s. */
const CLAIM_EXPIRES_S = 6;
/** done_expires = max(claim_expires × 2, 300). */
const DONE_EXPIRES_S = 300;

const CHORD_PART_RETURN_LUA = `
local jkey, tkey, skey, dkey, gkey, ckey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local tid, value, ordered, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local expires, group_expires = tonumber(ARGV[5]), tonumber(ARGV[6])
local claim_expires = tonumber(ARGV[7])
local claim_token = ARGV[8]
if redis.call('GET', ckey) == 'done' then
    return {-1, 0, 0, 0}
end
local member = tid .. ':' .. score
if redis.call('SISMEMBER', dkey, member) == 0 then
    if ordered == '1' then
        redis.call('ZADD', jkey, score, value)
    else
        redis.call('RPUSH', jkey, value)
    end
    redis.call('SADD', dkey, member)
end
local readycount
if ordered == '1' then
    readycount = redis.call('ZCOUNT', jkey, '-inf', '+inf')
else
    readycount = redis.call('LLEN', jkey)
end
if expires > 0 then
    for _, key in ipairs({jkey, tkey, skey, dkey}) do
        redis.call('EXPIRE', key, expires)
    end
    if group_expires > 0 then
        redis.call('EXPIRE', gkey, group_expires)
    end
end
local totaldiff = redis.call('GET', tkey)
local size = redis.call('GET', skey)
local claimed = 0
if size and readycount == tonumber(size) + tonumber(totaldiff or 0) then
    if redis.call('SET', ckey, claim_token, 'NX', 'EX', claim_expires) then
        claimed = 1
    end
end
return {readycount, totaldiff, size, claimed}
`;

const CHORD_CLEANUP_LUA = `
local ckey, jkey, tkey, skey, dkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local token = ARGV[1]
local done_expires = tonumber(ARGV[2])
if redis.call('GET', ckey) == token then
    redis.call('DEL', jkey, tkey, skey, dkey)
    if done_expires and done_expires > 0 then
        redis.call('SET', ckey, 'done', 'EX', done_expires)
    end
    return 1
end
return 0
`;

// Run by SHA1, as redis-py's `register_script` runs Celery's (lua-script.ts).
const CHORD_PART_RETURN = new LuaScript(CHORD_PART_RETURN_LUA);
const CHORD_CLEANUP = new LuaScript(CHORD_CLEANUP_LUA);

async function exec(multi: ReturnType<Redis['multi']>, key: string): Promise<unknown[]> {
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await multi.exec();
  } catch (cause) {
    throw new TransportError(`chord bookkeeping on ${key} failed: ${(cause as Error).message}`, { cause });
  }
  if (!replies) throw new TransportError(`chord bookkeeping on ${key} was discarded`);
  return replies.map(([error, value]) => {
    if (error) throw new TransportError(`chord bookkeeping on ${key} failed: ${error.message}`, { cause: error });
    return value;
  });
}

function decodeEntry(member: string, key: string): ChordEntry {
  const entry = jsonDecode(member);
  if (!Array.isArray(entry) || entry.length !== 4 || typeof entry[1] !== 'string' || typeof entry[2] !== 'string') {
    throw new DecodeError(`chord entry in ${key} is not [1, task_id, state, result]: ${member.slice(0, 80)}`);
  }
  return { taskId: entry[1], state: entry[2], result: entry[3] };
}

/**
 * Python's `json.dumps` layout (`, ` and `: ` separators, ensure_ascii): members are compared
 * as strings by ZADD, so a redelivered task re-added by a Python worker must spell the same.
 */
export function pythonJson(value: unknown): string {
  // Dates and bytes take kombu's JSON form first (jsonEncode), then this layout; a bigint is
  // its digits, as Python writes an int.
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date || ArrayBuffer.isView(value)) return pythonJson(JSON.parse(jsonEncode(value)));
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function');
    return `{${fields.map(([k, v]) => `${asciiJson(k)}: ${pythonJson(v)}`).join(', ')}}`;
  }
  if (typeof value === 'string') return asciiJson(value);
  return JSON.stringify(value) ?? 'null';
}

/** ensure_ascii: everything outside printable ASCII as `\uXXXX` (lowercase hex, like Python). */
function asciiJson(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
