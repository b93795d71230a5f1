// Celery task messages: protocol 2 written exactly as Python's `as_task_v2` writes it, and
// protocol 1, hybrid and 2 read into one TaskRequest (celery/app/amqp.py `AMQP.as_task_v2`,
// celery/worker/strategy.py `hybrid_to_proto2` / `proto1_to_proto2`).
import { z } from 'zod';
import { CeleryError, ProtocolError } from '../errors.js';
import { decodeBody, encodeBody } from './codec.js';
import { formatPythonIso, parseIsoTime } from './iso-time.js';
import type { Message, MessageProperties } from './message.js';
import { argsRepr, kwargsRepr, saferepr } from './repr.js';
import type { NewTask, Signature, TaskEmbed, TaskHeaders, TaskRequest } from './task-types.js';

export type { NewTask, Signature, TaskEmbed, TaskHeaders, TaskRequest } from './task-types.js';

export function buildTaskMessage(task: NewTask): Message {
  const headers: TaskHeaders = {
    lang: 'py',
    task: task.task,
    id: task.id,
    shadow: task.shadow ?? null,
    eta: task.eta ? formatPythonIso(task.eta) : null,
    expires: task.expires ? formatPythonIso(task.expires) : null,
    group: task.group ?? null,
    group_index: task.groupIndex ?? null,
    retries: task.retries ?? 0,
    timelimit: [task.timeLimit ?? null, task.softTimeLimit ?? null],
    root_id: task.rootId || task.id, // as_task_v2: "empty root_id defaults to task_id"
    parent_id: task.parentId ?? null,
    argsrepr: task.argsrepr ?? argsRepr(task.args),
    kwargsrepr: task.kwargsrepr ?? kwargsRepr(task.kwargs),
    origin: task.origin,
    ignore_result: task.ignoreResult ?? false,
    replaced_task_nesting: task.replacedTaskNesting ?? 0,
    stamped_headers: task.stampedHeaders ?? null,
    stamps: task.stamps ?? {},
    ...task.headers,
  };
  const embed: TaskEmbed = {
    callbacks: task.callbacks ?? null,
    errbacks: task.errbacks ?? null,
    chain: task.chain ?? null,
    chord: task.chord ?? null,
  };
  const encoded = encodeBody([task.args, task.kwargs, embed], { compression: task.compression });
  if (encoded.compression) headers.compression = encoded.compression;
  const properties: MessageProperties = { correlation_id: task.id, reply_to: task.replyTo, delivery_mode: 2 };
  if (task.expires) {
    // celery/app/base.py send_task clamps a past expiry to 0; kombu's Producer.publish writes
    // `str(int(expiration * 1000))`: whole milliseconds as a decimal string.
    const ttl = Math.max(0, task.expires.getTime() - (task.now ?? new Date()).getTime());
    properties.expiration = String(Math.trunc(ttl));
  }
  properties.priority = task.priority ?? 0;
  return { body: encoded.body, contentType: encoded.contentType, contentEncoding: encoded.contentEncoding, headers, properties };
}

// ---------------------------------------------------------------------------------------------
// Reading

const optString = z.string().nullable().optional();
const signature = z.looseObject({ task: z.string() });
const signatureList = z.array(signature).nullable().optional();

/** The task fields shared by protocol-2 headers and protocol-1 bodies; all optional here. */
const taskFields = {
  task: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  lang: optString,
  shadow: optString,
  eta: optString,
  expires: optString,
  group: optString,
  group_index: z.number().int().nullable().optional(),
  retries: z.number().int().nonnegative().nullable().optional(),
  // Exactly [hard, soft]: Celery's Request unpacks `time_limit, soft_time_limit = timelimit`.
  timelimit: z.array(z.number().nullable()).length(2).nullable().optional(),
  root_id: optString,
  parent_id: optString,
  argsrepr: optString,
  kwargsrepr: optString,
  origin: optString,
  ignore_result: z.boolean().nullable().optional(),
  replaced_task_nesting: z.number().int().nullable().optional(),
  stamped_headers: z.array(z.string()).nullable().optional(),
  stamps: z.record(z.string(), z.unknown()).nullable().optional(),
};
const headersSchema = z.looseObject(taskFields);
// Built once: zod compiles a schema on its first parse, so a per-message `.required()` would
// recompile for every message (it cost ~12 % of a worker's CPU).
const v2HeadersSchema = headersSchema.required({ task: true, id: true });
type Fields = z.infer<typeof headersSchema>;

const embedSchema = z
  .looseObject({ callbacks: signatureList, errbacks: signatureList, chain: signatureList, chord: signature.nullable().optional() })
  .nullable()
  .optional();
const v2Body = z.tuple([z.array(z.unknown()), z.record(z.string(), z.unknown()), embedSchema]);
const v1Body = z.looseObject({
  ...taskFields,
  args: z.array(z.unknown()).nullable().optional(),
  kwargs: z.record(z.string(), z.unknown()).nullable().optional(),
  taskset: optString,
  utc: z.boolean().nullable().optional(),
  callbacks: signatureList,
  errbacks: signatureList,
  chord: signature.nullable().optional(),
});

/** Validate at the edge; a failure names the field and shows (a bounded repr of) the bad value. */
function check<T>(schema: z.ZodType<T>, value: unknown, base: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [base, ...issue.path.map(String)].filter(Boolean).join('.');
  const bad = issue.path.reduce<unknown>((v, k) => (isRecord(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), value);
  throw new ProtocolError(path, `${issue.message.toLowerCase()} (got ${bad === undefined ? 'nothing' : saferepr(bad, 100)})`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Decode a task message into a TaskRequest, dispatching as Celery 5.7's worker does
 * (celery/worker/strategy.py): a body that is a dict with `args` is hybrid/protocol 1 (body fields,
 * message headers on top); otherwise `headers.task` means protocol 2; a dict body with `task` and
 * no `args` is plain protocol 1. Throws ProtocolError naming the field, ContentDisallowed or
 * DecodeError (MessageTooLarge past `maxSize` bytes, see decodeBody) — never anything else — on
 * bad input.
 */
export function parseTaskMessage(message: Message, accept: readonly string[] = ['json'], maxSize?: number): TaskRequest {
  try {
    const rawHeaders = isRecord(message.headers) ? message.headers : {};
    const properties = isRecord(message.properties) ? message.properties : {};
    const body = decodeBody(message, accept, maxSize);
    if (isRecord(body) && ('args' in body || (!('task' in rawHeaders) && 'task' in body))) return parseV1(body, rawHeaders, properties);
    if ('task' in rawHeaders) return parseV2(body, rawHeaders, properties);
    throw new ProtocolError('headers.task', 'missing: not a Celery task message (neither protocol 2 headers nor a protocol 1 body)');
  } catch (error) {
    if (error instanceof CeleryError) throw error;
    // A safety net, not a path we know of: a worker must survive any message.
    throw new ProtocolError('message', `unreadable task message (${(error as Error)?.message ?? String(error)})`, { cause: error });
  }
}

function parseV2(body: unknown, rawHeaders: Record<string, unknown>, properties: MessageProperties): TaskRequest {
  // The exact checks below accept a subset of what the schemas accept (every message a Celery
  // producer writes): such a message skips zod, ~a fifth of a no-op task's worker CPU. Anything
  // else is judged by the schemas, which also word the error.
  if (plainV2Headers(rawHeaders) && plainV2Body(body)) {
    return toRequest(2, rawHeaders, rawHeaders as Fields, body[0], body[1], body[2] ?? {}, properties, 'headers');
  }
  const h = check(v2HeadersSchema, rawHeaders, 'headers');
  const [args, kwargs, rawEmbed] = check(v2Body, body, 'body');
  const embed = rawEmbed ?? {};
  return toRequest(2, rawHeaders, h, args, kwargs, embed, properties, 'headers');
}

const OPT_STRINGS = ['lang', 'shadow', 'eta', 'expires', 'group', 'root_id', 'parent_id', 'argsrepr', 'kwargsrepr', 'origin'] as const;
const isOptInt = (v: unknown) => v === undefined || v === null || Number.isSafeInteger(v);
const isOptList = (v: unknown, item: (x: unknown) => boolean) => v === undefined || v === null || (Array.isArray(v) && v.every(item));
const isSignature = (v: unknown) => isRecord(v) && typeof v.task === 'string';

/** headersSchema.required({task, id}) holds, checked without zod (stricter: safe integers, finite numbers). */
function plainV2Headers(h: Record<string, unknown>): boolean {
  if (typeof h.task !== 'string' || h.task === '' || typeof h.id !== 'string' || h.id === '') return false;
  for (const key of OPT_STRINGS) {
    const v = h[key];
    if (v !== undefined && v !== null && typeof v !== 'string') return false;
  }
  if (!isOptInt(h.group_index) || !isOptInt(h.replaced_task_nesting) || !isOptInt(h.retries) || (typeof h.retries === 'number' && h.retries < 0)) return false;
  const tl = h.timelimit;
  if (tl !== undefined && tl !== null && !(Array.isArray(tl) && tl.length === 2 && tl.every((x) => x === null || Number.isFinite(x)))) return false;
  if (h.ignore_result !== undefined && h.ignore_result !== null && typeof h.ignore_result !== 'boolean') return false;
  if (!isOptList(h.stamped_headers, (x) => typeof x === 'string')) return false;
  return h.stamps === undefined || h.stamps === null || isRecord(h.stamps);
}

type PlainV2Body = [unknown[], Record<string, unknown>, { callbacks?: unknown; errbacks?: unknown; chain?: unknown; chord?: unknown } | null | undefined];

/** v2Body holds: `[args, kwargs, embed]`, checked without zod. */
function plainV2Body(body: unknown): body is PlainV2Body {
  if (!Array.isArray(body) || body.length !== 3 || !Array.isArray(body[0]) || !isRecord(body[1])) return false;
  const embed: unknown = body[2];
  if (embed === undefined || embed === null) return true;
  if (!isRecord(embed)) return false;
  return isOptList(embed.callbacks, isSignature) && isOptList(embed.errbacks, isSignature) && isOptList(embed.chain, isSignature) && (embed.chord === undefined || embed.chord === null || isSignature(embed.chord));
}

/** Protocol 1 / hybrid (`hybrid_to_proto2`): task fields from the body, message headers win. */
function parseV1(rawBody: Record<string, unknown>, rawHeaders: Record<string, unknown>, properties: MessageProperties): TaskRequest {
  const b = check(v1Body, rawBody, 'body');
  const h = check(headersSchema, rawHeaders, 'headers');
  // proto1_to_proto2 renames `taskset` to `group` (Celery < 3.1 group ids).
  const merged: Fields = { ...b, group: b.group ?? b.taskset, ...stripUndefined(h) };
  if (!merged.task) throw new ProtocolError('body.task', `must be a non-empty string (got ${saferepr(rawBody.task ?? null, 100)})`);
  if (!merged.id) throw new ProtocolError('body.id', `must be a non-empty string (got ${saferepr(rawBody.id ?? null, 100)})`);
  // `utc: false` meant naive times in the producer's local zone; we read naive times as UTC.
  const embed = { callbacks: b.callbacks, errbacks: b.errbacks, chord: b.chord, chain: null };
  return toRequest(1, rawHeaders, merged, b.args ?? [], b.kwargs ?? {}, embed, properties, 'body');
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function toRequest(
  protocol: 1 | 2,
  rawHeaders: Record<string, unknown>,
  f: Fields,
  args: unknown[],
  kwargs: Record<string, unknown>,
  embed: { callbacks?: unknown; errbacks?: unknown; chain?: unknown; chord?: unknown },
  properties: MessageProperties,
  base: string,
): TaskRequest {
  const headers: TaskHeaders = {
    ...rawHeaders, // custom headers are kept
    lang: f.lang ?? 'py',
    task: f.task!,
    id: f.id!,
    shadow: f.shadow ?? null,
    eta: f.eta ?? null,
    expires: f.expires ?? null,
    group: f.group ?? null,
    group_index: f.group_index ?? null,
    retries: f.retries ?? 0,
    timelimit: [f.timelimit?.[0] ?? null, f.timelimit?.[1] ?? null],
    root_id: f.root_id ?? null,
    parent_id: f.parent_id ?? null,
    argsrepr: f.argsrepr ?? argsRepr(args),
    kwargsrepr: f.kwargsrepr ?? kwargsRepr(kwargs),
    origin: f.origin ?? null,
    ignore_result: f.ignore_result ?? false,
    replaced_task_nesting: f.replaced_task_nesting ?? 0,
    stamped_headers: f.stamped_headers ?? null,
    stamps: f.stamps ?? {},
  };
  const eta = f.eta ? parseIsoTime(f.eta, `${base}.eta`) : null;
  const expires = f.expires ? parseIsoTime(f.expires, `${base}.expires`) : null;
  return {
    protocol,
    id: headers.id,
    name: headers.task,
    args,
    kwargs,
    embed: {
      callbacks: (embed.callbacks ?? null) as Signature[] | null,
      errbacks: (embed.errbacks ?? null) as Signature[] | null,
      chain: (embed.chain ?? null) as Signature[] | null,
      chord: (embed.chord ?? null) as Signature | null,
    },
    headers,
    eta,
    expires,
    retries: headers.retries,
    timeLimit: headers.timelimit,
    rootId: headers.root_id,
    parentId: headers.parent_id,
    group: headers.group,
    groupIndex: headers.group_index,
    shadow: headers.shadow,
    ignoreResult: headers.ignore_result === true,
    origin: headers.origin,
    argsrepr: headers.argsrepr,
    kwargsrepr: headers.kwargsrepr,
    replyTo: typeof properties.reply_to === 'string' ? properties.reply_to : null,
    correlationId: typeof properties.correlation_id === 'string' ? properties.correlation_id : null,
    priority: typeof properties.priority === 'number' ? properties.priority : null,
  };
}
