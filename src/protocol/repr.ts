// Python text forms of JSON values as Python holds them after `json.loads`: `repr()` (exception
// reprs, logs) and Celery's `saferepr` (argsrepr/kwargsrepr headers, return values in log lines —
// celery/utils/saferepr.py, capped at 1024 by celery/app/amqp.py `argsrepr_maxsize`).
import { formatPythonIso } from './iso-time.js';

export const REPR_MAXSIZE = 1024;

/** Python's `str.isprintable()` is false for these categories (space excepted). */
const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

function escapeCodePoint(code: number): string {
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}

/** `repr(str)`: single quotes unless the text holds `'` and no `"` (CPython unicode_repr). */
function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += escapeCodePoint(code);
    else if (code >= 0x80 && NOT_PRINTABLE.test(ch)) out += escapeCodePoint(code);
    else out += ch;
  }
  return out + quote;
}

/** `repr(float)`: shortest round-trip digits, exponent form below 1e-4 or from 1e16 (`1e-05`, `1e+16`). */
function reprFloat(n: number): string {
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${digits.slice(0, exp + 1).padEnd(exp + 1, '0')}.${digits.slice(exp + 1) || '0'}`;
}

/**
 * A number as Python sees it after our JSON: JSON.stringify writes integral values below 1e21 as
 * plain digits (a Python int), other finite values as floats, NaN/±Infinity as `null` (None).
 */
function reprNumber(n: number): string {
  if (!Number.isFinite(n)) return 'None';
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? String(n) : reprFloat(n);
}

/** Nesting beyond this is shown as `[...]`/`{...}` rather than overflowing the stack on hostile input. */
const MAX_REPR_DEPTH = 100;

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/** Object entries as JSON.stringify keeps them (undefined and function values are dropped). */
function jsonEntries(value: object): [string, unknown][] {
  return Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol');
}

function reprAt(value: unknown, depth: number): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return reprString(value);
  if (value instanceof Date) return reprString(formatPythonIso(value));
  if (value instanceof Uint8Array) return `b${reprString(Buffer.from(value).toString('latin1'))}`;
  if (Array.isArray(value)) {
    return depth >= MAX_REPR_DEPTH ? '[...]' : `[${value.map((v) => reprAt(v, depth + 1)).join(', ')}]`;
  }
  if (isJsonObject(value)) {
    if (depth >= MAX_REPR_DEPTH) return '{...}';
    return `{${jsonEntries(value).map(([k, v]) => `${reprString(k)}: ${reprAt(v, depth + 1)}`).join(', ')}}`;
  }
  return reprString(String(value));
}

/** Python's `repr()` of a value as Python would hold it after `json.loads` (Dates as ISO text). */
export function pythonRepr(value: unknown): string {
  return reprAt(value, 0);
}

// ---------------------------------------------------------------------------------------------
// saferepr: a streaming port of celery/utils/saferepr.py as shipped in Celery 5.7.0, so our argsrepr equals Python's byte for
// byte: strings always in single quotes with only `'` escaped, containers deeper than 3 levels
// shown as `[...]`, and past `maxlen` a `, ...` followed by the still-open closing brackets.

/** A literal piece of text; closing brackets (`truncate` false) survive an exhausted maxlen. */
class Literal {
  constructor(
    readonly value: string,
    readonly truncate: boolean,
    readonly direction: number,
  ) {}
}
/** A dict key (rendered by a nested saferepr call). */
class Key {
  constructor(readonly value: string) {}
}
/** Text to quote (a str or bytes value). */
class Quoted {
  constructor(readonly value: string | Uint8Array) {}
}
/** Marks the end of a container, for recursion protection. */
class Dirty {
  constructor(readonly object: object) {}
}
// Classes, not shapes: user data such as `{value: 1}` must never be mistaken for a token.
type Token = Literal | Key | Quoted | string;

const DICT_START = new Literal('{', false, +1);
const DICT_KVSEP = new Literal(': ', true, 0);
const DICT_END = new Literal('}', false, -1);
const LIST_START = new Literal('[', false, +1);
const LIST_END = new Literal(']', false, -1);
const LIST_SEP = new Literal(', ', true, 0);

function* chainList(items: unknown[]): Generator<unknown> {
  for (let i = 0; i < items.length; i++) {
    yield items[i];
    if (i < items.length - 1) yield LIST_SEP;
  }
}

function* chainDict(entries: [string, unknown][]): Generator<unknown> {
  for (let i = 0; i < entries.length; i++) {
    yield new Key(entries[i]![0]);
    yield DICT_KVSEP;
    yield entries[i]![1];
    if (i < entries.length - 1) yield LIST_SEP;
  }
}

/** A container's token run: `[`, items and separators, the recursion marker, `]`. */
function* container(start: Literal, body: Generator<unknown>, marker: Dirty, end: Literal): Generator<unknown> {
  yield start;
  yield* body;
  yield marker;
  yield end;
}

/**
 * celery/utils/saferepr.py `reprstream`. Python chains each container's tokens in front of the rest
 * of the stream; we keep a stack of container iterators instead (same order, no growing chain),
 * and `open` holds the closing brackets of the containers entered and not yet closed.
 */
function* reprstream(value: unknown, maxlevels: number, open: Literal[]): Generator<Token> {
  const seen = new Set<object>();
  const frames: Iterator<unknown>[] = [[value][Symbol.iterator]()];
  let level = 0;
  while (frames.length > 0) {
    const r = frames[frames.length - 1]!.next();
    if (r.done) {
      frames.pop();
      continue;
    }
    const val = r.value;
    if (val instanceof Dirty) seen.delete(val.object);
    else if (val instanceof Literal) {
      level += val.direction;
      if (val.direction < 0) open.pop();
      yield val;
    } else if (val instanceof Key) yield val;
    else if (val === null || val === undefined) yield 'None';
    else if (typeof val === 'boolean') yield val ? 'True' : 'False';
    else if (typeof val === 'number') yield reprNumber(val);
    else if (typeof val === 'bigint') yield val.toString();
    else if (typeof val === 'string' || val instanceof Uint8Array) yield new Quoted(val);
    else if (val instanceof Date) yield new Quoted(formatPythonIso(val));
    else if (isJsonObject(val)) {
      const list = Array.isArray(val);
      const [start, end] = list ? [LIST_START, LIST_END] : [DICT_START, DICT_END];
      if (maxlevels && level >= maxlevels) {
        // A literal, so that maxlen cannot cut it and leave an unbalanced bracket behind.
        yield new Literal(`${start.value}...${end.value}`, false, 0);
      } else if (seen.has(val)) {
        yield `<Recursion on ${list ? 'list' : 'dict'}>`;
      } else {
        seen.add(val);
        open.push(end);
        frames.push(container(start, list ? chainList(val) : chainDict(jsonEntries(val)), new Dirty(val), end));
      }
    } else yield reprString(String(val));
  }
}

/** `len()` as Python counts it: code points, not UTF-16 units. */
function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i++;
    }
    n++;
  }
  return n;
}

/** celery/utils/text.py `truncate`: at maxlen or more, cut, drop the last partial word, add `...`. */
function truncate(s: string, maxlen: number | null): string {
  if (!maxlen || s.length < maxlen) return s;
  const cps = Array.from(s.slice(0, maxlen * 2));
  if (cps.length < maxlen) return s;
  const head = cps.slice(0, maxlen).join('');
  const space = head.lastIndexOf(' ');
  return `${space === -1 ? head : head.slice(0, space)}...`;
}

function formatBytes(value: Uint8Array, maxlen: number | null): string {
  const text = (bytes: Uint8Array) => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return Buffer.from(bytes).toString('hex');
    }
  };
  if (maxlen && value.length > maxlen) return `b'${text(value.subarray(0, maxlen))}...'`;
  return `b'${text(value)}'`;
}

function* saferepTokens(value: unknown, maxlen: number | null, maxlevels: number): Generator<string> {
  const open: Literal[] = [];
  const tokens = reprstream(value, maxlevels, open);
  for (let r = tokens.next(); !r.done; r = tokens.next()) {
    const token = r.value;
    if (maxlen !== null && maxlen <= 0) {
      // The cut value was the last of its container: nothing is left out, just close it.
      if (token instanceof Literal && token.direction < 0) {
        yield token.value;
        continue;
      }
      yield ', ...';
      // Python now scans the rest of the stream for closing brackets, skipping those of
      // containers opened after the cut (the token just pulled may be such an opening): that is
      // the closing brackets of the open containers, innermost first.
      const closing = open.slice().reverse();
      if (token instanceof Literal && token.direction > 0) closing.shift();
      for (const end of closing) yield end.value;
      return;
    }
    let val: string;
    if (typeof token === 'string') val = truncate(token, maxlen);
    else if (token instanceof Literal) val = token.value;
    else if (token instanceof Key) val = saferepr(token.value, maxlen, maxlevels);
    else if (typeof token.value === 'string') val = `'${truncate(token.value, maxlen).replaceAll("'", "\\'")}'`;
    else val = formatBytes(token.value, maxlen);
    yield val;
    if (maxlen !== null) maxlen -= codePointLength(val);
  }
}

/** Celery's `saferepr(value, maxlen, maxlevels=3)`, for a value as Python holds it after JSON. */
export function saferepr(value: unknown, maxlen: number | null = null, maxlevels = 3): string {
  let out = '';
  for (const part of saferepTokens(value, maxlen, maxlevels)) out += part;
  return out;
}

/** The `argsrepr` header: `saferepr(args, 1024)` (a JS array reads as Python's list: `[2, 3]`). */
export function argsRepr(args: unknown): string {
  return saferepr(args, REPR_MAXSIZE);
}

/** The `kwargsrepr` header: `saferepr(kwargs, 1024)`. */
export function kwargsRepr(kwargs: Record<string, unknown>): string {
  return saferepr(kwargs, REPR_MAXSIZE);
}
