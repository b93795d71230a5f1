// Celery task messages: protocol 2 written exactly as Python's `as_task_v2` writes it, and
// protocol 1 and 2 read into one TaskRequest (celery-wire.md §2, §3; celery/app/amqp.py,
// celery/worker/request.py, celery/worker/strategy.py `proto1_to_proto2`).
import { z } from 'zod';
import { ProtocolError } from '../errors.js';
import { decodeBody, encodeBody } from './codec.js';
import { formatPythonIso, parseIsoTime } from './iso-time.js';
import type { Message, MessageProperties } from './message.js';
import { argsRepr, kwargsRepr } from './repr.js';

/** A serialized task call (`celery.canvas.Signature` as a dict). */
export interface Signature {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  [key: string]: unknown;
}

/** The third body element: what runs after this task. */
export interface TaskEmbed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  /** Remaining chain steps, next step LAST. */
  chain: Signature[] | null;
  chord: Signature | null;
}

/** Protocol-2 headers (§2.2); custom headers sit beside them. */
export interface TaskHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  timelimit: [number | null, number | null];
  root_id: string | null;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string | null;
  ignore_result: boolean | null;
  replaced_task_nesting: number;
  stamped_headers: string[] | null;
  stamps: Record<string, unknown>;
  [key: string]: unknown;
}

/** What a producer asks to send. */
export interface NewTask {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  eta?: Date | null;
  expires?: Date | null;
  shadow?: string | null;
  group?: string | null;
  groupIndex?: number | null;
  retries?: number;
  timeLimit?: number | null;
  softTimeLimit?: number | null;
  rootId?: string | null;
  parentId?: string | null;
  argsrepr?: string;
  kwargsrepr?: string;
  ignoreResult?: boolean;
  replacedTaskNesting?: number;
  stampedHeaders?: string[] | null;
  stamps?: Record<string, unknown>;
  callbacks?: Signature[] | null;
  errbacks?: Signature[] | null;
  chain?: Signature[] | null;
  chord?: Signature | null;
  /** Custom headers, merged at the top level (Celery's `apply_async(headers=…)`). */
  headers?: Record<string, unknown>;
  priority?: number;
  replyTo: string;
  origin: string;
  compression?: string;
  /** For the AMQP `expiration` property (ms until `expires`). */
  now?: Date;
}

/** A decoded task message, whichever protocol carried it. */
export interface TaskRequest {
  protocol: 1 | 2;
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed;
  headers: TaskHeaders;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  /** `[hard, soft]` seconds. */
  timeLimit: [number | null, number | null];
  rootId: string | null;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  shadow: string | null;
  ignoreResult: boolean;
  origin: string | null;
  argsrepr: string;
  kwargsrepr: string;
  replyTo: string | null;
  correlationId: string | null;
  priority: number | null;
}

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
    root_id: task.rootId ?? task.id,
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
    // kombu: the AMQP per-message TTL, in milliseconds as a decimal string ("0" when past).
    const ttl = Math.max(0, task.expires.getTime() - (task.now ?? new Date()).getTime());
    properties.expiration = String(Math.round(ttl));
  }
  properties.priority = task.priority ?? 0;
  return { body: encoded.body, contentType: encoded.contentType, contentEncoding: encoded.contentEncoding, headers, properties };
}

// ---------------------------------------------------------------------------------------------
// Reading

const nullableString = z.string().nullable().optional();
const nullableNumber = z.number().nullable().optional();
const signature = z.looseObject({ task: z.string() });
const signatureList = z.array(signature).nullable().optional();

const headersSchema = z.looseObject({
  task: z.string().min(1),
  id: z.string().min(1),
  shadow: nullableString,
  eta: nullableString,
  expires: nullableString,
  group: nullableString,
  group_index: z.number().int().nullable().optional(),
  retries: z.number().int().nonnegative().nullable().optional(),
  timelimit: z.tuple([nullableNumber, nullableNumber]).nullable().optional(),
  root_id: nullableString,
  parent_id: nullableString,
  argsrepr: nullableString,
  kwargsrepr: nullableString,
  origin: nullableString,
  ignore_result: z.boolean().nullable().optional(),
});

const embedSchema = z
  .looseObject({ callbacks: signatureList, errbacks: signatureList, chain: signatureList, chord: signature.nullable().optional() })
  .nullable()
  .optional();

const v2Body = z.tuple([z.array(z.unknown()), z.record(z.string(), z.unknown()), embedSchema]);

const v1Body = z.looseObject({
  task: z.string().min(1),
  id: z.string().min(1),
  args: z.array(z.unknown()).nullable().optional(),
  kwargs: z.record(z.string(), z.unknown()).nullable().optional(),
  eta: nullableString,
  expires: nullableString,
  retries: z.number().int().nonnegative().nullable().optional(),
  timelimit: z.tuple([nullableNumber, nullableNumber]).nullable().optional(),
  taskset: nullableString,
  group: nullableString,
  group_index: z.number().int().nullable().optional(),
  callbacks: signatureList,
  errbacks: signatureList,
  chord: signature.nullable().optional(),
  utc: z.boolean().nullable().optional(),
  root_id: nullableString,
  parent_id: nullableString,
});

function check<T>(schema: z.ZodType<T>, value: unknown, base: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [base, ...issue.path.map(String)].filter(Boolean).join('.');
  const bad = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], value);
  throw new ProtocolError(path, `${issue.message.toLowerCase()} (got ${JSON.stringify(bad) ?? 'undefined'})`);
}

const time = (text: string | null | undefined, field: string) => (text ? parseIsoTime(text, field) : null);

/**
 * Decode a task message (v2, v1 or hybrid) into a TaskRequest. Throws ProtocolError naming the
 * field, ContentDisallowed or DecodeError — never anything else — on bad input.
 */
export function parseTaskMessage(message: Message, accept: readonly string[] = ['json']): TaskRequest {
  const rawHeaders = message.headers ?? {};
  const properties = message.properties ?? {};
  if (typeof rawHeaders.task === 'string') return parseV2(message, rawHeaders, properties, accept);
  const body = decodeBody(message, accept);
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'task' in body) {
    return parseV1(body as Record<string, unknown>, rawHeaders, properties);
  }
  throw new ProtocolError('headers.task', 'missing: not a Celery task message (neither protocol 2 headers nor a protocol 1 body)');
}

function parseV2(message: Message, rawHeaders: Record<string, unknown>, properties: MessageProperties, accept: readonly string[]): TaskRequest {
  const h = check(headersSchema, rawHeaders, 'headers');
  const [args, kwargs, rawEmbed] = check(v2Body, decodeBody(message, accept), 'body');
  const embed = (rawEmbed ?? {}) as Partial<TaskEmbed>;
  const headers = {
    ...rawHeaders,
    lang: typeof rawHeaders.lang === 'string' ? rawHeaders.lang : 'py',
    shadow: h.shadow ?? null,
    eta: h.eta ?? null,
    expires: h.expires ?? null,
    group: h.group ?? null,
    group_index: h.group_index ?? null,
    retries: h.retries ?? 0,
    timelimit: [h.timelimit?.[0] ?? null, h.timelimit?.[1] ?? null],
    root_id: h.root_id ?? null,
    parent_id: h.parent_id ?? null,
    argsrepr: h.argsrepr ?? argsRepr(args),
    kwargsrepr: h.kwargsrepr ?? kwargsRepr(kwargs),
    origin: h.origin ?? null,
    ignore_result: h.ignore_result ?? false,
    replaced_task_nesting: typeof rawHeaders.replaced_task_nesting === 'number' ? rawHeaders.replaced_task_nesting : 0,
    stamped_headers: Array.isArray(rawHeaders.stamped_headers) ? (rawHeaders.stamped_headers as string[]) : null,
    stamps: isRecord(rawHeaders.stamps) ? rawHeaders.stamps : {},
  } as TaskHeaders;
  return {
    protocol: 2,
    id: h.id,
    name: h.task,
    args,
    kwargs,
    embed: {
      callbacks: (embed.callbacks ?? null) as Signature[] | null,
      errbacks: (embed.errbacks ?? null) as Signature[] | null,
      chain: (embed.chain ?? null) as Signature[] | null,
      chord: (embed.chord ?? null) as Signature | null,
    },
    headers,
    eta: time(h.eta, 'headers.eta'),
    expires: time(h.expires, 'headers.expires'),
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
    ...fromProperties(properties),
  };
}

/** Protocol 1: everything in the body; header values, when present, win ("hybrid", §3). */
function parseV1(rawBody: Record<string, unknown>, rawHeaders: Record<string, unknown>, properties: MessageProperties): TaskRequest {
  const b = check(v1Body, { ...rawBody, ...rawHeaders }, 'body');
  const args = b.args ?? [];
  const kwargs = b.kwargs ?? {};
  const group = b.group ?? b.taskset ?? null;
  const timelimit: [number | null, number | null] = [b.timelimit?.[0] ?? null, b.timelimit?.[1] ?? null];
  const headers: TaskHeaders = {
    lang: 'py',
    task: b.task,
    id: b.id,
    shadow: null,
    eta: b.eta ?? null,
    expires: b.expires ?? null,
    group,
    group_index: b.group_index ?? null,
    retries: b.retries ?? 0,
    timelimit,
    root_id: b.root_id ?? null,
    parent_id: b.parent_id ?? null,
    argsrepr: argsRepr(args),
    kwargsrepr: kwargsRepr(kwargs),
    origin: null,
    ignore_result: false,
    replaced_task_nesting: 0,
    stamped_headers: null,
    stamps: {},
  };
  return {
    protocol: 1,
    id: b.id,
    name: b.task,
    args,
    kwargs,
    embed: {
      callbacks: (b.callbacks ?? null) as Signature[] | null,
      errbacks: (b.errbacks ?? null) as Signature[] | null,
      chain: null,
      chord: (b.chord ?? null) as Signature | null,
    },
    headers,
    // `utc: false` meant naive times in the worker's timezone; our workers run in UTC.
    eta: time(b.eta, 'body.eta'),
    expires: time(b.expires, 'body.expires'),
    retries: headers.retries,
    timeLimit: timelimit,
    rootId: headers.root_id,
    parentId: headers.parent_id,
    group,
    groupIndex: headers.group_index,
    shadow: null,
    ignoreResult: false,
    origin: null,
    argsrepr: headers.argsrepr,
    kwargsrepr: headers.kwargsrepr,
    ...fromProperties(properties),
  };
}

function fromProperties(p: MessageProperties): Pick<TaskRequest, 'replyTo' | 'correlationId' | 'priority'> {
  return {
    replyTo: typeof p.reply_to === 'string' ? p.reply_to : null,
    correlationId: typeof p.correlation_id === 'string' ? p.correlation_id : null,
    priority: typeof p.priority === 'number' ? p.priority : null,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
