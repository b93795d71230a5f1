// kombu's JSON serializer (kombu/utils/json.py), both generations: Dates as Python ISO strings
// (5.2 cannot decode `__type__` objects), bytes tagged as kombu ≥5.3 does (unreadable by 5.2);
// we read plain JSON and revive kombu ≥5.3's `{"__type__", "__value__"}` objects.
import { DecodeError, EncodeError } from '../../errors.js';
import { formatPythonIso, parseIsoTime } from '../iso-time.js';

function needsReplacer(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint';
  if (depth > 64) return true;
  if (value instanceof Date || value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.some((v) => needsReplacer(v, depth + 1));
  for (const key in value) if (needsReplacer((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  if (original instanceof Date) return formatPythonIso(original);
  if (original instanceof Uint8Array) {
    const buf = Buffer.from(original);
    const text = buf.toString('utf8');
    return Buffer.from(text, 'utf8').equals(buf)
      ? { __type__: 'bytes', __value__: text }
      : { __type__: 'base64', __value__: buf.toString('base64') };
  }
  if (typeof value === 'bigint') {
    if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value);
    throw new EncodeError(`cannot encode ${value} exactly as a JSON number`);
  }
  return value;
}

/**
 * Serialize a value to JSON text; JSON.stringify's fast path unless a Date/bytes/bigint is inside.
 * Bytes become `{"__type__": "bytes"|"base64"}`, which Celery/kombu 5.2 passes on as a plain dict.
 */
export function jsonEncode(value: unknown): string {
  const text = needsReplacer(value) ? JSON.stringify(value, replacer) : JSON.stringify(value);
  return text === undefined ? 'null' : text;
}

function revive(type: unknown, value: unknown): unknown {
  switch (type) {
    case 'datetime':
      // `datetime.isoformat()` text; a naive one is UTC, as Celery reads naive times.
      if (typeof value === 'string') {
        try {
          return parseIsoTime(value, 'datetime');
        } catch {
          break;
        }
      }
      break;
    case 'date':
    case 'time':
    case 'decimal':
      if (typeof value === 'string') return value;
      break;
    case 'uuid': {
      // kombu writes `{"hex": …}` (decoded with `uuid.UUID(**value)`); a plain string is tolerated.
      const raw = typeof value === 'string' ? value : (value as { hex?: unknown } | null)?.hex;
      const h = typeof raw === 'string' ? raw.replace(/^urn:uuid:/i, '').replace(/[-{}]/g, '').toLowerCase() : '';
      if (/^[0-9a-f]{32}$/.test(h)) return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      break;
    }
    case 'bytes':
      if (typeof value === 'string') return Buffer.from(value, 'utf8');
      break;
    case 'base64':
      if (typeof value === 'string') return Buffer.from(value, 'base64');
      break;
    default:
      throw new DecodeError(`unsupported JSON type marker __type__=${JSON.stringify(type)}`);
  }
  throw new DecodeError(`malformed JSON type marker ${JSON.stringify({ __type__: type, __value__: value }).slice(0, 200)}`);
}

function reviveTree(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveTree(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 2 && '__type__' in obj && '__value__' in obj) return revive(obj.__type__, obj.__value__);
  for (const key of keys) obj[key] = reviveTree(obj[key]);
  return obj;
}

/** Parse JSON text, reviving kombu's tagged objects (any depth). */
export function jsonDecode(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DecodeError(`invalid JSON: ${(error as Error).message}`);
  }
  // Fast path: no marker anywhere in the text means nothing to revive.
  if (!text.includes('"__type__"')) return parsed;
  try {
    return reviveTree(parsed);
  } catch (error) {
    if (error instanceof RangeError) throw new DecodeError('JSON nested too deeply to decode');
    throw error;
  }
}
