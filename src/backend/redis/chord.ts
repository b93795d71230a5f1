// Chord counters on Redis, as celery/backends/redis.py keeps them (celery-wire.md §8.6): the
// producer stores the header size in `.s`; each finished header task adds itself to the join set
// `.j`; whoever brings the count to `.s` + `.t` completes the chord. Knows no tasks, only values.
import type { Redis } from 'ioredis';
import { DecodeError, TransportError } from '../../errors.js';
import { jsonDecode, jsonEncode } from '../../protocol/codecs/json.js';
import type { ResultTuple } from '../../protocol/result-meta.js';
import { decodeGroup } from '../meta-codec.js';
import type { ResultKeys } from './keys.js';
import type { RedisBackend } from './redis-backend.js';

/** One header task's outcome as stored in `.j`: `[1, task_id, state, result]`. */
export interface ChordEntry {
  taskId: string;
  state: string;
  /** The JSON result: the return value, or the exception dict (celery-wire.md §8.3). */
  result: unknown;
}

export type ChordPartOutcome =
  | { complete: false }
  | {
      complete: true;
      /** Every header outcome, in `group_index` order (insertion order when unordered). */
      results: ChordEntry[];
      /** The header saved as a GroupResult (nested groups), which Celery joins instead; else null. */
      savedGroup: ResultTuple | null;
    };

export interface ChordPart {
  groupId: string;
  /** The task's `group_index` header; null scores `+inf` (redis.py). */
  groupIndex: number | null;
  taskId: string;
  /** Any ready state: SUCCESS, FAILURE and REVOKED all count. */
  state: string;
  result: unknown;
}

export interface RedisChordStoreOptions {
  /** `result_backend_transport_options.result_chord_ordered` (default true: a zset, else a list). */
  ordered?: boolean;
}

export class RedisChordStore {
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

  /** A task joined the running chord (`Task.add_to_chord`, `replace`): redis.py `add_to_chord`. */
  async addToChord(groupId: string): Promise<void> {
    const key = this.keys.chordAdjust(groupId);
    await exec(this.client.multi().incrby(key, 1), key);
  }

  /**
   * redis.py `on_chord_part_return`: record one header outcome and tell whether it completed the
   * chord. The MULTI makes the count atomic with the add, so exactly one task sees completion.
   */
  async onChordPartReturn(part: ChordPart): Promise<ChordPartOutcome> {
    const jkey = this.keys.chordJoin(part.groupId);
    const tkey = this.keys.chordAdjust(part.groupId);
    const skey = this.keys.chordSize(part.groupId);
    const encoded = pythonJson([1, part.taskId, part.state, part.result]);
    const multi = this.client.multi();
    if (this.ordered) multi.zadd(jkey, part.groupIndex ?? '+inf', encoded).zcount(jkey, '-inf', '+inf');
    else multi.rpush(jkey, encoded).llen(jkey);
    multi.get(tkey).get(skey);
    if (this.ttlSeconds > 0) multi.expire(jkey, this.ttlSeconds).expire(tkey, this.ttlSeconds).expire(skey, this.ttlSeconds);
    const [, readyCount, adjust, size] = (await exec(multi, jkey)) as [unknown, number, string | null, string | null];
    // No `.s` yet: the producer has not finished sending the header, so nobody can be last.
    if (!size) return { complete: false };
    const total = Number(size) + Number(adjust ?? 0);
    if (readyCount !== total) return { complete: false };
    const groupKey = this.keys.group(part.groupId);
    const read = this.client.multi().get(groupKey);
    if (this.ordered) read.zrange(jkey, 0, -1);
    else read.lrange(jkey, 0, total);
    const [savedRaw, members] = (await exec(read, jkey)) as [string | null, string[]];
    return { complete: true, results: members.map((m) => decodeEntry(m, jkey)), savedGroup: decodeGroup(savedRaw, groupKey) };
  }

  /** After the body was sent (or failed): redis.py deletes `.j`, `.t` and `.s`. */
  async deleteChord(groupId: string): Promise<void> {
    const keys = [this.keys.chordJoin(groupId), this.keys.chordAdjust(groupId), this.keys.chordSize(groupId)];
    await exec(this.client.multi().del(...keys), keys[0]!);
  }
}

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
  // Dates, bytes and bigints take kombu's JSON form first (jsonEncode), then this layout.
  if (value instanceof Date || ArrayBuffer.isView(value) || typeof value === 'bigint') return pythonJson(JSON.parse(jsonEncode(value)));
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
