// Text that came from a message (a content type, a task name, a parser's complaint about a body)
// made safe to put inside one log line or error message: at most `max` characters, cut with an
// ellipsis and the full length, and every control or line-separating character escaped, so a
// hostile message can neither flood the log nor forge extra lines with an embedded CR/LF.

/** Control characters (C0, DEL, C1) and the Unicode line/paragraph separators. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const escape = (ch: string) => {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
};

export const UNTRUSTED_TEXT_MAX = 200;

/** `text` cut to `max` characters (`…(<length> chars)`) with control characters escaped: one short line. */
export function oneLine(text: string, max = UNTRUSTED_TEXT_MAX): string {
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
  return cut.replace(UNSAFE, escape);
}

/** What a value is, for an error message that must not echo it (`a 52000-character string`, `an array`). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `a ${value.length}-character string` : `'${oneLine(value)}'`;
  if (typeof value === 'object') return 'an object';
  return oneLine(String(value), 40);
}
