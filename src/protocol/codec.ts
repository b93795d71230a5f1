// Body serialization with kombu's content-type rules: JSON in, JSON out; anything outside
// `accept_content` is refused, and pickle is refused without ever being decoded (as
// kombu/serialization.py `SerializerRegistry.loads` raises ContentDisallowed before decoding).
import { ContentDisallowed, DecodeError, MessageTooLarge } from '../errors.js';
import { jsonDecode, jsonEncode } from './codecs/json.js';
import { compress, compressionHeader, decompress } from './compression.js';
import type { Message } from './message.js';
import { oneLine } from './untrusted-text.js';

export const JSON_CONTENT_TYPE = 'application/json';

/** kombu's short serializer names → content types. */
const CONTENT_TYPES: Record<string, string> = {
  json: JSON_CONTENT_TYPE,
  pickle: 'application/x-python-serialize',
  yaml: 'application/x-yaml',
  msgpack: 'application/x-msgpack',
};

export interface EncodedBody {
  body: Buffer;
  contentType: typeof JSON_CONTENT_TYPE;
  contentEncoding: 'utf-8';
  /** The `compression` header value when compressed. */
  compression?: string;
}

export function encodeBody(value: unknown, options: { compression?: string } = {}): EncodedBody {
  const raw = Buffer.from(jsonEncode(value), 'utf8');
  if (!options.compression) return { body: raw, contentType: JSON_CONTENT_TYPE, contentEncoding: 'utf-8' };
  return {
    body: compress(raw, options.compression),
    contentType: JSON_CONTENT_TYPE,
    contentEncoding: 'utf-8',
    compression: compressionHeader(options.compression),
  };
}

/**
 * Decode a message body, enforcing `accept` (short names or MIME types) and, when given,
 * `maxSize`: the body as it arrived and once decompressed may hold at most that many bytes
 * (MessageTooLarge otherwise, before any JSON is parsed).
 */
export function decodeBody(message: Message, accept: readonly string[] = ['json'], maxSize?: number): unknown {
  if (maxSize !== undefined && message.body.length > maxSize) {
    throw new MessageTooLarge(`the ${message.body.length}-byte body is larger than ${maxSize} bytes`);
  }
  const type = (message.contentType || JSON_CONTENT_TYPE).toLowerCase();
  const accepted = accept.map((a) => CONTENT_TYPES[a] ?? a);
  if (type === CONTENT_TYPES.pickle) {
    throw new ContentDisallowed('refusing to deserialize pickle (application/x-python-serialize): only JSON is accepted');
  }
  if (!accepted.includes(type)) throw new ContentDisallowed(`refusing to deserialize untrusted content of type ${oneLine(type, 100)}`);
  if (type !== JSON_CONTENT_TYPE) throw new ContentDisallowed(`no decoder for content type ${oneLine(type, 100)}`);
  const headers: unknown = message.headers;
  const compression = headers !== null && typeof headers === 'object' ? (headers as Record<string, unknown>).compression : undefined;
  const bytes = typeof compression === 'string' && compression ? decompress(message.body, compression, maxSize) : message.body;
  const encoding = (message.contentEncoding || 'utf-8').toLowerCase();
  if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'binary') {
    throw new DecodeError(`unsupported content encoding ${oneLine(encoding, 100)}`);
  }
  return jsonDecode(utf8Text(bytes));
}

// Strict, as kombu's `bytes_to_str`/`json.loads` of a body: an invalid byte fails the message
// instead of becoming U+FFFD inside a task's arguments. The BOM is kept so JSON rejects it, as
// Python's `json.loads` does ("Unexpected UTF-8 BOM").
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8Text(bytes: Buffer): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw new DecodeError(`the ${bytes.length}-byte body is not valid UTF-8`);
  }
}
