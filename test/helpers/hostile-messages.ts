// Hostile input for a worker on the Redis broker (issue 16, scenario 5): seeded mutations of the
// task envelopes Python Celery 5.7 wrote (test/fixtures/celery-5.7/msg-*.json), each one a message
// no worker may run — broken JSON or base64, refused content types and compressions, invalid
// UTF-8, nesting past any parser's depth, wrong header types, missing properties, huge values.
// Every mutant says whether its task id is still readable: a worker must then store a FAILURE
// under it (else a caller's AsyncResult stays PENDING forever).
import { deflateSync } from 'node:zlib';
import { encodeRedisEnvelope } from '../../src/protocol/envelope.js';
import { loadFixtures } from './fixtures.js';
import { mulberry32 } from './random.js';

type Envelope = Record<string, unknown> & { headers: Record<string, unknown>; properties: Record<string, unknown> };

export interface HostileMessage {
  kind: string;
  /** The list entry to LPUSH onto the queue, exactly. */
  raw: string;
  /** The task id a worker can read from it (it must store a FAILURE there), or null. */
  readableId: string | null;
}

export interface Target {
  /** Queue (list key, with any global_keyprefix) and the name inside the envelope. */
  queue: string;
  /** A task the worker has registered: the mutation, not the name, is what makes it bad. */
  task: string;
}

/** The Celery 5.7 protocol-2 task envelopes captured from a real producer. */
const BASES: Envelope[] = loadFixtures('msg-')
  .filter((f) => f.folder === 'celery-5.7')
  .flatMap((f) => (f.data.messages ?? []) as { raw?: string }[])
  .map((m) => (typeof m.raw === 'string' ? (JSON.parse(m.raw) as Envelope) : null))
  .filter((e): e is Envelope => e !== null && typeof e.body === 'string' && typeof e.headers?.task === 'string' && !e.headers.compression);

const EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
const v2Body = (args: unknown, kwargs: unknown = {}) => b64(JSON.stringify([args, kwargs, EMBED]));
const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** A body built once and shared by every mutant of its kind (they differ only in their ids). */
const once = (make: () => string) => {
  let made: string | undefined;
  return () => (made ??= make());
};
const hugeArgList = once(() => v2Body(Array.from({ length: 200_000 }, (_, i) => i), 'not a dict'));
const body20MB = once(() => v2Body(['x'.repeat(20 * 1024 * 1024)]));

/**
 * One mutation: edits a copy of a base envelope (already carrying a fresh id, our task and queue)
 * and returns the wire text, or `null` to serialize the edited envelope. `id: false` when the
 * mutant leaves no task id a worker could read.
 */
interface Mutation {
  kind: string;
  id: boolean;
  /** Relative frequency (1 = common). */
  weight?: number;
  /** The 20 MB body: placed only where the caller asks for one (`huge`). */
  huge?: boolean;
  apply(env: Envelope, rnd: () => number): string | null;
}

const MUTATIONS: Mutation[] = [
  // The envelope itself.
  { kind: 'envelope-truncated', id: false, apply: (env) => { const raw = JSON.stringify(env); return raw.slice(0, raw.indexOf('"properties"') - 3); } },
  { kind: 'envelope-garbage', id: false, apply: (_e, rnd) => Array.from({ length: 64 }, () => String.fromCharCode(Math.floor(rnd() * 0x7f))).join('') },
  { kind: 'envelope-array', id: false, apply: () => '[1, 2, 3]' },
  { kind: 'envelope-null', id: false, apply: () => 'null' },
  { kind: 'envelope-deep', id: true, apply: (env) => { env.headers.stamps = { deep: '@DEEP@' }; return JSON.stringify(env).replace('"@DEEP@"', deep(20_000)); } },
  { kind: 'body-not-string', id: true, apply: (env) => { env.body = 12345; return null; } },
  { kind: 'body-object', id: true, apply: (env) => { env.body = { nested: [1, 2] }; return null; } },
  { kind: 'properties-not-object', id: true, apply: (env) => { env.properties = 'nope' as never; return null; } },
  { kind: 'headers-not-object', id: true, apply: (env) => { env.headers = [1, 2] as never; return null; } },
  { kind: 'no-delivery-tag', id: true, apply: (env) => { delete env.properties.delivery_tag; return null; } },
  { kind: 'bad-body-encoding', id: true, apply: (env) => { env.properties.body_encoding = 'rot13'; return null; } },
  // The body.
  { kind: 'broken-base64', id: true, apply: (env) => { env.body = '!!not*base64\u0000@@'; return null; } },
  { kind: 'body-not-json', id: true, apply: (env) => { env.body = b64('[[1, 2], {}, {"callbacks": nul'); return null; } },
  { kind: 'invalid-utf8', id: true, apply: (env) => { env.body = b64(Buffer.concat([Buffer.from('[["caf'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"], {}, {}]')])); return null; } },
  { kind: 'utf8-bom', id: true, apply: (env) => { env.body = b64(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[[1], {}, {}]')])); return null; } },
  { kind: 'body-deep', id: true, apply: (env) => { env.body = b64(`[${deep(20_000)}, {}, {}]`); return null; } },
  { kind: 'body-wrong-shape', id: true, apply: (env) => { env.body = b64('{"a": 1}'); return null; } },
  { kind: 'kwargs-not-dict', id: true, apply: (env) => { env.body = v2Body([1, 2], [3]); return null; } },
  { kind: 'huge-arg-list', id: true, weight: 0.2, apply: (env) => { env.body = hugeArgList(); return null; } },
  { kind: 'bad-type-marker', id: true, apply: (env) => { env.body = b64('[[{"__type__": "pickle", "__value__": "gASVCAAAAAAAAACMBHBvc2mULg=="}], {}, {}]'); return null; } },
  { kind: 'body-20mb', id: true, huge: true, apply: (env) => { env.body = body20MB(); return null; } },
  // Content types, encodings and compressions kombu refuses or cannot undo.
  { kind: 'pickle', id: true, apply: (env) => { env['content-type'] = 'application/x-python-serialize'; env.body = b64(Buffer.from('80049508000000000000008c04706f7369942e', 'hex')); return null; } },
  { kind: 'yaml', id: true, apply: (env) => { env['content-type'] = 'application/x-yaml'; env.body = b64('- [1, 2]\n- {}\n- !!python/object/apply:os.system ["true"]\n'); return null; } },
  { kind: 'msgpack', id: true, apply: (env) => { env['content-type'] = 'application/x-msgpack'; env.body = b64(Buffer.from([0x93, 0x90, 0x80, 0x80])); return null; } },
  { kind: 'content-type-50kb', id: true, apply: (env) => { env['content-type'] = `text/evil\r\nFORGED LINE ${'z'.repeat(50_000)}`; return null; } },
  { kind: 'content-encoding-utf16', id: true, apply: (env) => { env['content-encoding'] = 'utf-16'; return null; } },
  { kind: 'gzip-garbage', id: true, apply: (env, rnd) => { env.headers.compression = 'application/x-gzip'; env.body = b64(Buffer.from(Array.from({ length: 40 }, () => Math.floor(rnd() * 256)))); return null; } },
  { kind: 'gzip-truncated', id: true, apply: (env) => { env.headers.compression = 'application/x-gzip'; env.body = b64(deflateSync(Buffer.from('[[1, 2], {}, {}]')).subarray(0, 8)); return null; } },
  { kind: 'compression-unknown', id: true, apply: (env) => { env.headers.compression = 'application/x-evil\nFORGED LINE'; return null; } },
  { kind: 'compression-bzip2', id: true, apply: (env) => { env.headers.compression = 'application/x-bz2'; return null; } },
  // Headers and properties.
  { kind: 'retries-string', id: true, apply: (env) => { env.headers.retries = 'many'; return null; } },
  { kind: 'timelimit-string', id: true, apply: (env) => { env.headers.timelimit = '10s'; return null; } },
  { kind: 'eta-garbage', id: true, apply: (env) => { env.headers.eta = 'tomorrow\r\nFORGED LINE'; return null; } },
  { kind: 'task-name-crlf', id: true, apply: (env) => { env.headers.task = 'evil\r\nFORGED LINE [2026-01-01 00:00:00,000: ERROR/MainProcess] forged'; return null; } },
  { kind: 'task-name-50kb', id: true, apply: (env) => { env.headers.task = `t${'n'.repeat(50_000)}`; return null; } },
  { kind: 'task-name-number', id: true, apply: (env) => { env.headers.task = 42; return null; } },
  { kind: 'no-task-header', id: true, apply: (env) => { delete env.headers.task; return null; } },
  { kind: 'no-id', id: false, apply: (env) => { delete env.headers.id; delete env.properties.correlation_id; return null; } },
];

export const HOSTILE_KINDS: readonly string[] = MUTATIONS.map((m) => m.kind);

/** A uuid4-shaped id from the seeded generator (replayable). */
function seededId(rnd: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** A base envelope re-addressed to `target` under a fresh id: a message the worker would run. */
function freshBase(target: Target, rnd: () => number): { env: Envelope; id: string } {
  const base = BASES[Math.floor(rnd() * BASES.length)]!;
  const env = structuredClone(base);
  const id = seededId(rnd);
  Object.assign(env.headers, { id, root_id: id, task: target.task, eta: null, expires: null });
  Object.assign(env.properties, { correlation_id: id, delivery_tag: seededId(rnd), delivery_info: { exchange: '', routing_key: target.queue } });
  env.body = v2Body([1, 2]);
  return { env, id };
}

/**
 * `count` hostile messages, seeded: kinds in turn (so a small count still covers every kind),
 * then weighted at random; `huge` 20 MB bodies spread evenly among them.
 */
export function* hostileMessages(opts: { seed: number; count: number; target: Target; huge?: number }): Generator<HostileMessage> {
  const rnd = mulberry32(opts.seed);
  const pool = MUTATIONS.filter((m) => !m.huge);
  const huge = MUTATIONS.find((m) => m.huge)!;
  const hugeEvery = opts.huge ? Math.max(1, Math.floor(opts.count / opts.huge)) : 0;
  const total = pool.reduce((s, m) => s + (m.weight ?? 1), 0);
  const pick = (i: number): Mutation => {
    if (hugeEvery && i % hugeEvery === Math.floor(hugeEvery / 2)) return huge;
    if (i < pool.length) return pool[i]!;
    let r = rnd() * total;
    for (const m of pool) if ((r -= m.weight ?? 1) < 0) return m;
    return pool[0]!;
  };
  for (let i = 0; i < opts.count; i++) {
    const mutation = pick(i);
    const { env, id } = freshBase(opts.target, rnd);
    const raw = mutation.apply(env, rnd) ?? JSON.stringify(env);
    yield { kind: mutation.kind, raw, readableId: mutation.id ? id : null };
  }
}

/** A valid task message for `target` (what Celery's send_task writes), as the list entry. */
export function validMessage(target: Target, id: string, args: unknown[]): string {
  const env = { body: v2Body(args), 'content-encoding': 'utf-8', 'content-type': 'application/json' };
  const headers = { lang: 'py', task: target.task, id, shadow: null, eta: null, expires: null, group: null, group_index: null, retries: 0, timelimit: [null, null], root_id: id, parent_id: null, argsrepr: JSON.stringify(args).slice(0, 1024), kwargsrepr: '{}', origin: 'hostile', ignore_result: false, replaced_task_nesting: 0, stamped_headers: null, stamps: {} };
  return encodeRedisEnvelope(
    { body: Buffer.from(env.body, 'base64'), contentType: env['content-type'], contentEncoding: env['content-encoding'], headers, properties: { correlation_id: id, reply_to: '', delivery_mode: 2, priority: 0 } },
    { exchange: '', routingKey: target.queue, deliveryTag: id },
  );
}
