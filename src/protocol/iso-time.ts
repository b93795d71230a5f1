// ISO-8601 times as Python writes and reads them: we emit exactly what `datetime.isoformat()`
// emits for an aware UTC time (celery/app/amqp.py `AMQP.as_task_v2` writes `eta.isoformat()`), and
// read what Celery ≥5.3's `maybe_iso8601` (dateutil `isoparse`) reads, naive values taken as UTC
// (`maybe_make_aware`; both in celery/utils/time.py).
import { ProtocolError } from '../errors.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-11-22T11:19:35.639000+00:00`; no fraction when the milliseconds are 0 (as Python). */
export function formatPythonIso(date: Date): string {
  const ms = date.getUTCMilliseconds();
  const year = date.getUTCFullYear();
  // Years 0–9999 (all Python can hold): the native ISO string, re-tailed (one call, on every result).
  if (year >= 0 && year <= 9999) {
    const iso = date.toISOString();
    return ms === 0 ? `${iso.slice(0, 19)}+00:00` : `${iso.slice(0, 23)}000+00:00`;
  }
  const base = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${base}${ms === 0 ? '' : `.${pad(ms, 3)}000`}+00:00`;
}

/** The last `date_done` formatted: a busy worker finishes many tasks within one millisecond. */
let lastDone = { time: Number.NaN, text: '' };

/** `date_done` as Celery ≥5.5 writes it: aware, UTC. */
export function formatDateDone(date: Date): string {
  const time = date.getTime();
  if (time !== lastDone.time) lastDone = { time, text: formatPythonIso(date) };
  return lastDone.text;
}

// dateutil isoparse forms: YYYY[-MM[-DD]] or YYYYMMDD; then T/space and hh[:mm[:ss[.frac]]] (or the
// colon-less hhmm[ss]); then Z, ±hh, ±hhmm or ±hh:mm. Fractions may use `.` or `,`.
const ISO =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?|(\d{2})(\d{2}))?(?:[Tt ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parse an ISO-8601 time to the instant Celery's worker sees. Fractions of any length are real
 * fractions (read to the millisecond) and `+0530` is an offset, as with dateutil in Celery ≥5.3.5;
 * we deliberately do not copy 5.2's quirks (`.678` read as 678 µs, colon-less offsets dropped —
 * fixture time-iso8601-parsing). Surrounding whitespace is tolerated; the date/time separator must be
 * `T`, `t` or a space (dateutil takes any one character), and ISO week (`2030-W01-1`) and ordinal
 * (`2030-001`) dates, which no Celery producer writes, are refused.
 */
export function parseIsoTime(text: string, field = 'time'): Date {
  const m = typeof text === 'string' ? ISO.exec(text.trim()) : null;
  if (!m) throw new ProtocolError(field, `not an ISO-8601 time: ${JSON.stringify(text)}`);
  const [, y, mExt, dExt, mBasic, dBasic, h = '0', mi = '0', s = '0', frac = '', zulu, sign, oh, om = '0'] = m;
  const year = Number(y);
  const month = Number(mExt ?? mBasic ?? '1');
  const day = Number(dExt ?? dBasic ?? '1');
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  // Truncated, never rounded, as dateutil truncates to microseconds: .999999999 stays in its second.
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const invalid =
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!) ||
    // dateutil accepts 24:00[:00[.0]] as the midnight ending the day.
    (hour === 24 ? minute !== 0 || second !== 0 || ms !== 0 : hour > 23) ||
    minute > 59 ||
    second > 59 ||
    (sign !== undefined && (Number(oh) > 23 || Number(om) > 59));
  if (invalid) throw new ProtocolError(field, `not a valid time: ${JSON.stringify(text)}`);
  let time = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (year < 100) time = new Date(time).setUTCFullYear(year); // Date.UTC maps years 0–99 to 19xx
  if (!zulu && sign) time -= (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return new Date(time);
}
