// The two pidbox message kinds as kombu builds them (kombu/pidbox.py `_publish`,
// `_publish_reply`; fixtures pidbox-*): a request broadcast on the
// fanout exchange and a reply published to the client's reply exchange.
import { encodeBody } from '../protocol/codec.js';
import type { Message } from '../protocol/message.js';

export interface ReplyTo {
  exchange: string;
  routing_key: string;
}

/** A request body, keys in kombu's order. */
export interface PidboxRequest {
  method: string;
  arguments: Record<string, unknown>;
  destination: string[] | null;
  pattern: string | null;
  matcher: string | null;
  /** Only when a reply is wanted. */
  ticket?: string;
  reply_to?: ReplyTo;
}

function message(body: unknown, headers: Record<string, unknown>, deliveryMode: 1 | 2): Message {
  const encoded = encodeBody(body);
  // Properties hold only delivery_mode: the envelope adds delivery_info, priority, body_encoding
  // and delivery_tag after it, which is kombu's order.
  return { body: encoded.body, contentType: encoded.contentType, contentEncoding: encoded.contentEncoding, headers, properties: { delivery_mode: deliveryMode } };
}

/** Request: headers `{clock, expires}` (epoch seconds of the client's deadline, or 0), persistent. */
export function requestMessage(request: PidboxRequest, clock: number, expires: number): Message {
  return message(request, { clock, expires }, 2);
}

/** Reply: headers `{ticket, clock}`, transient, body `{<nodename>: reply}`. */
export function replyMessage(hostname: string, reply: unknown, ticket: string | undefined, clock: number): Message {
  return message({ [hostname]: reply === undefined ? null : reply }, { ticket: ticket ?? null, clock }, 1);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The request fields a node needs, or null when the body is not a pidbox request. */
export function parseRequest(body: unknown): PidboxRequest | null {
  if (!isObject(body) || typeof body.method !== 'string') return null;
  const replyTo = isObject(body.reply_to) && typeof body.reply_to.exchange === 'string' && typeof body.reply_to.routing_key === 'string' ? (body.reply_to as unknown as ReplyTo) : undefined;
  return {
    method: body.method,
    arguments: isObject(body.arguments) ? body.arguments : {},
    destination: Array.isArray(body.destination) ? body.destination.map(String) : typeof body.destination === 'string' ? [body.destination] : null,
    pattern: typeof body.pattern === 'string' ? body.pattern : null,
    matcher: typeof body.matcher === 'string' ? body.matcher : null,
    ...(typeof body.ticket === 'string' ? { ticket: body.ticket } : {}),
    ...(replyTo ? { reply_to: replyTo } : {}),
  };
}
