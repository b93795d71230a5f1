// ISO-8601 times as Python writes and reads them (celery-wire.md §4.3): we emit exactly what
// `datetime.isoformat()` emits for an aware UTC time, and read any ISO form a producer may send.
import { ProtocolError } from '../errors.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-11-22T11:19:35.639000+00:00`; no fraction when the milliseconds are 0 (as Python). */
export function formatPythonIso(date: Date): string {
  const ms = date.getUTCMilliseconds();
  const base = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${base}${ms === 0 ? '' : `.${pad(ms, 3)}000`}+00:00`;
}

/** `date_done` as Celery ≥5.5 writes it: aware, UTC. */
export function formatDateDone(date: Date): string {
  return formatPythonIso(date);
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parse an ISO-8601 time. Naive values are UTC (Celery's `maybe_make_aware`); fractions of any
 * length are real fractions and `+0530` is an offset (dateutil, Celery ≥5.3.5 — we deliberately
 * do not copy 5.2's quirks of reading `.678` as 678 µs or dropping colon-less offsets).
 */
export function parseIsoTime(text: string, field = 'time'): Date {
  const m = typeof text === 'string' ? ISO.exec(text.trim()) : null;
  if (!m) throw new ProtocolError(field, `not an ISO-8601 time: ${JSON.stringify(text)}`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000 + 1e-6) : 0;
  let time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    time -= sign * offsetMinutes * 60_000;
  }
  const date = new Date(time);
  if (Number.isNaN(date.getTime()) || Number(mo) > 12 || Number(d) > 31) {
    throw new ProtocolError(field, `not a valid time: ${JSON.stringify(text)}`);
  }
  return date;
}
