// Python `repr()` of JSON values, for the `argsrepr`/`kwargsrepr` headers, events and log lines
// (Celery uses saferepr with a 1024-character cap: celery/app/amqp.py argsrepr_maxsize).

export const REPR_MAXSIZE = 1024;

function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if ((code >= 0x80 && code < 0xa0) || code === 0xad || (code >= 0xd800 && code < 0xe000)) {
      out += code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

function reprNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  // Python writes exponents with at least two digits: 1e-07, 1e+16.
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Python's repr of a value as Python would hold it after `json.loads`. */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return reprString(value);
  if (value instanceof Date) return reprString(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  if (value instanceof Uint8Array) return `b${reprString(Buffer.from(value).toString('latin1'))}`;
  if (typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${reprString(k)}: ${pythonRepr(v)}`).join(', ')}}`;
  }
  return reprString(String(value));
}

function capped(text: string): string {
  return text.length > REPR_MAXSIZE ? `${text.slice(0, REPR_MAXSIZE - 3)}...` : text;
}

/** The `argsrepr` header: repr of the args list, capped at 1024 characters. */
export function argsRepr(args: unknown): string {
  return capped(pythonRepr(args));
}

/** The `kwargsrepr` header. */
export function kwargsRepr(kwargs: Record<string, unknown>): string {
  return capped(pythonRepr(kwargs));
}
