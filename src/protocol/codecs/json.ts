// kombu's JSON serializer (kombu/utils/json.py), both generations: Dates as Python ISO strings
// (5.2 cannot decode `__type__` objects), bytes tagged as kombu ≥5.3 does (unreadable by 5.2);
// we read plain JSON and revive kombu ≥5.3's `{"__type__", "__value__"}` objects.
// Integers: Python's are unbounded, a JS number is exact only to 2^53. An integer literal outside
// the safe range decodes as a `bigint` and a bigint encodes back as a JSON integer, so ids and
// amounts survive the round trip digit for digit (Python's `json` writes ints as plain digits).
import { DecodeError } from '../../errors.js';
import { formatPythonIso, parseIsoTime } from '../iso-time.js';
import { describeValue, oneLine } from '../untrusted-text.js';

function needsReplacer(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint';
  if (depth > 64) return true;
  if (value instanceof Date || value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.some((v) => needsReplacer(v, depth + 1));
  for (const key in value) if (needsReplacer((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * JSON.stringify's replacer for kombu's forms. JSON.stringify cannot write a raw number (no
 * JSON.rawJSON before Node 21), so an unsafe bigint becomes a string `<mark><digits>` that
 * jsonEncode unquotes afterwards; the mark carries a per-call random nonce no user string can forge.
 */
function replacerFor(mark: string) {
  return function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
    const original = this[key];
    if (original instanceof Date) return formatPythonIso(original);
    if (original instanceof Uint8Array) {
      const buf = Buffer.from(original);
      const text = buf.toString('utf8');
      return Buffer.from(text, 'utf8').equals(buf)
        ? { __type__: 'bytes', __value__: text }
        : { __type__: 'base64', __value__: buf.toString('base64') };
    }
    if (typeof value === 'bigint') return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : `${mark}${value}`;
    return value;
  };
}

/**
 * Serialize a value to JSON text; JSON.stringify's fast path unless a Date/bytes/bigint is inside.
 * Bytes become `{"__type__": "bytes"|"base64"}`, which Celery/kombu 5.2 passes on as a plain dict;
 * a bigint becomes a JSON integer, which Python reads as an int.
 */
export function jsonEncode(value: unknown): string {
  if (!needsReplacer(value)) return JSON.stringify(value) ?? 'null';
  const mark = `bigint:${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(value, replacerFor(mark));
  if (text === undefined) return 'null';
  return text.includes(mark) ? text.replaceAll(new RegExp(`"${mark}(-?[0-9]+)"`, 'g'), '$1') : text;
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
      throw new DecodeError(`unsupported JSON type marker __type__=${describeValue(type)}`);
  }
  throw new DecodeError(`malformed JSON type marker __type__=${describeValue(type)} with __value__ ${describeValue(value)}`);
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

const isDigit = (code: number) => code >= 0x30 && code <= 0x39;

/**
 * Whether the text has a run of 16 digits (2^53 has 16): without one it holds no unsafe integer.
 * Any 16 consecutive positions include one index ≡ 15 (mod 16), so only those are probed and a
 * digit there is widened to its run — about 10× faster than a regex on digit-rich payloads.
 */
function hasLongDigitRun(text: string): boolean {
  for (let i = 15; i < text.length; i += 16) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    let end = i;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    while (end + 1 < text.length && isDigit(text.charCodeAt(end + 1))) end++;
    if (end - start + 1 >= 16) return true;
    i = end;
  }
  return false;
}

/**
 * Rewrite each integer literal outside the safe range as a string `<mark><digits>` (strings are
 * skipped, floats stay floats), so JSON.parse keeps its digits for the reviver to make a bigint.
 */
function quoteUnsafeIntegers(text: string, mark: string): string {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
    } else if (c === 0x2d /* - */ || isDigit(c)) {
      const start = i;
      let integral = true;
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (isDigit(d)) i++;
        else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          integral = false;
          i++;
        } else break;
      }
      if (integral && i - start >= 16) {
        const token = text.slice(start, i);
        if (!Number.isSafeInteger(Number(token))) {
          out += `${text.slice(copied, start)}"${mark}${token}"`;
          copied = i;
        }
      }
    } else i++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * How deep JSON may nest: Python's `json.loads` recurses per level and fails near its recursion
 * limit (1000 by default), so Celery cannot read deeper messages either; deeper values would also
 * overflow our own recursive walks (JSON.stringify, saferepr) long after the message was accepted.
 */
export const MAX_JSON_DEPTH = 1000;

/** Whether `value` holds objects/arrays nested more than `room` levels below it (recursion ≤ `room` frames). */
function nestsDeeper(value: object, room: number): boolean {
  if (room === 0) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== null && typeof v === 'object' && nestsDeeper(v, room - 1)) return true;
    return false;
  }
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object' && nestsDeeper(v, room - 1)) return true;
  }
  return false;
}

/**
 * Throws DecodeError when a value JSON.parse made from `textLength` characters nests arrays/objects
 * deeper than MAX_JSON_DEPTH. JSON.parse itself copes with any depth; the walk costs one step
 * per object/array (never per character) and stops at the first level too deep. Text shorter
 * than two characters per level cannot be that deep and is not walked.
 */
export function checkNestingDepth(value: unknown, textLength: number, what = 'JSON'): void {
  if (textLength <= 2 * MAX_JSON_DEPTH || value === null || typeof value !== 'object') return;
  if (nestsDeeper(value, MAX_JSON_DEPTH)) throw new DecodeError(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
}

/**
 * Parse JSON text, reviving kombu's tagged objects (any depth) and keeping integers beyond 2^53
 * exact as bigints. The common text (no 16-digit run, no `__type__`) takes JSON.parse alone.
 */
export function jsonDecode(text: string): unknown {
  const bigints = hasLongDigitRun(text);
  let parsed: unknown;
  try {
    if (bigints) {
      const mark = `bigint:${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}:`;
      const rewritten = quoteUnsafeIntegers(text, mark);
      parsed =
        rewritten === text
          ? JSON.parse(text)
          : JSON.parse(rewritten, (_key, value: unknown) => (typeof value === 'string' && value.startsWith(mark) ? BigInt(value.slice(mark.length)) : value));
    } else {
      parsed = JSON.parse(text);
    }
  } catch (error) {
    if (error instanceof RangeError) throw new DecodeError('JSON nested too deeply to decode');
    throw new DecodeError(`invalid JSON: ${oneLine((error as Error).message)}`);
  }
  checkNestingDepth(parsed, text.length);
  // Fast path: no marker anywhere in the text means nothing to revive.
  if (!text.includes('"__type__"')) return parsed;
  try {
    return reviveTree(parsed);
  } catch (error) {
    if (error instanceof RangeError) throw new DecodeError('JSON nested too deeply to decode');
    throw error;
  }
}
