// kombu's Redis message envelope (kombu/transport/virtual/base.py `Channel.prepare_message`,
// `Channel._inplace_augment_message`; LPUSHed by kombu/transport/redis.py `Channel._put`): one
// JSON object per list entry with a base64 body, headers, and properties carrying
// delivery_info, priority and the delivery tag.
import { ProtocolError } from '../errors.js';
import { checkNestingDepth } from './codecs/json.js';
import type { DeliveryInfo, Message, MessageProperties } from './message.js';
import { describeValue, oneLine } from './untrusted-text.js';

export interface EnvelopeTarget {
  exchange: string;
  routingKey: string;
  deliveryTag: string;
}

export interface DecodedEnvelope {
  message: Message;
  info: DeliveryInfo;
  deliveryTag: string;
}

export function encodeRedisEnvelope(message: Message, target: EnvelopeTarget): string {
  // Object.assign, not `{ ...message.properties, delivery_info, … }`: a spread followed by more
  // properties gives every object a map of its own in Node 20's V8, and this runs per message sent.
  const properties: MessageProperties = Object.assign({}, message.properties, {
    delivery_info: { exchange: target.exchange, routing_key: target.routingKey },
    priority: message.properties.priority ?? 0,
    body_encoding: 'base64',
    delivery_tag: target.deliveryTag,
  });
  return JSON.stringify({
    body: message.body.toString('base64'),
    'content-encoding': message.contentEncoding,
    'content-type': message.contentType,
    headers: message.headers,
    properties,
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function parseEnvelopeObject(raw: string): Record<string, unknown> {
  let envelope: unknown;
  try {
    envelope = JSON.parse(raw);
  } catch (error) {
    throw new ProtocolError('envelope', `not JSON (${oneLine((error as Error).message)})`);
  }
  checkNestingDepth(envelope, raw.length, 'envelope');
  if (!isObject(envelope)) throw new ProtocolError('envelope', 'not a JSON object');
  return envelope;
}

/** `queue`: the one it was consumed from (none for a fanout subscription). */
export function decodeRedisEnvelope(raw: string, queue = ''): DecodedEnvelope {
  const envelope = parseEnvelopeObject(raw);
  const properties = envelope.properties ?? {};
  if (!isObject(properties)) throw new ProtocolError('properties', 'must be an object');
  const headers = envelope.headers ?? {};
  if (!isObject(headers)) throw new ProtocolError('headers', 'must be an object');
  const body = envelope.body;
  if (typeof body !== 'string') throw new ProtocolError('body', `must be a string, got ${describeValue(body)}`);
  const encoding = properties.body_encoding;
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(body, 'base64');
  else if (encoding === undefined || encoding === null || encoding === 'utf-8') bytes = Buffer.from(body, 'utf8');
  else throw new ProtocolError('properties.body_encoding', `unsupported body encoding ${describeValue(encoding)}`);
  const deliveryTag = properties.delivery_tag;
  if (typeof deliveryTag !== 'string' || deliveryTag === '') {
    throw new ProtocolError('properties.delivery_tag', `must be a non-empty string, got ${describeValue(deliveryTag)}`);
  }
  const info = isObject(properties.delivery_info) ? properties.delivery_info : {};
  const priority = typeof properties.priority === 'number' ? properties.priority : 0;
  return {
    message: {
      body: bytes,
      contentType: typeof envelope['content-type'] === 'string' ? envelope['content-type'] : 'application/json',
      contentEncoding: typeof envelope['content-encoding'] === 'string' ? envelope['content-encoding'] : 'utf-8',
      headers,
      properties: properties as MessageProperties,
    },
    info: {
      exchange: typeof info.exchange === 'string' ? info.exchange : '',
      routingKey: typeof info.routing_key === 'string' ? info.routing_key : '',
      queue,
      redelivered: info.redelivered === true || headers.redelivered === true,
      priority,
    },
    deliveryTag,
  };
}

/** A task id as Celery reads one; anything longer or with control characters is no id of ours. */
const TASK_ID = /^[^\u0000-\u001f\u007f]{1,255}$/;

/** `value` when it can be a task id to store a result under, else null. */
export function asTaskId(value: unknown): string | null {
  return typeof value === 'string' && TASK_ID.test(value) ? value : null;
}
/** kombu writes `properties` last: in an envelope that is not JSON, its correlation id is the last one. */
const CORRELATION_ID = /"correlation_id":\s*"([\w.:-]{1,200})"/g;

/**
 * The task id of an envelope that could not be delivered, where one can be read: `headers.id`
 * (protocol 2) or `properties.correlation_id` when the text is a JSON object, else the last
 * `"correlation_id": "…"` in the text. Null when none is readable.
 */
export function readableTaskId(raw: string): string | null {
  let envelope: Record<string, unknown> | null = null;
  try {
    envelope = parseEnvelopeObject(raw);
  } catch {
    // Not a JSON object (or nested too deep to parse): only the text is left to look at.
  }
  if (envelope) {
    const headers = isObject(envelope.headers) ? envelope.headers : {};
    const properties = isObject(envelope.properties) ? envelope.properties : {};
    return asTaskId(headers.id) ?? asTaskId(properties.correlation_id);
  }
  return [...raw.matchAll(CORRELATION_ID)].pop()?.[1] ?? null;
}

/**
 * The envelope as kombu restores it: `headers.redelivered` and `delivery_info.redelivered` set
 * (kombu/transport/redis.py `Channel._do_restore_message`).
 */
export function markRedelivered(raw: string): string {
  const envelope = parseEnvelopeObject(raw);
  const headers = isObject(envelope.headers) ? envelope.headers : {};
  const properties = isObject(envelope.properties) ? envelope.properties : {};
  const info = isObject(properties.delivery_info) ? properties.delivery_info : {};
  headers.redelivered = true;
  info.redelivered = true;
  properties.delivery_info = info;
  envelope.headers = headers;
  envelope.properties = properties;
  return JSON.stringify(envelope);
}
