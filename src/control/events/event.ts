// One Celery event as the dispatcher builds it (celery/events/dispatcher.py `EventDispatcher.send`
// / `publish`, celery/events/event.py `Event`): hostname, utcoffset, pid, clock, the fields, then
// timestamp and type — the key order of the event-* fixtures.
import { loadavg, type as osType } from 'node:os';

export type CeleryEvent = Record<string, unknown> & { type: string };

export interface SoftwareInfo {
  sw_ident: string;
  sw_ver: string;
  sw_sys: string;
  [key: string]: string;
}

/** `sw_*` fields: ours identify the runtime honestly; `sw_sys` is Python's `platform.system()`. */
export function softwareInfo(version: string, ident = 'ts-celery'): SoftwareInfo {
  const sys = osType();
  return { sw_ident: ident, sw_ver: version, sw_sys: sys === 'Windows_NT' ? 'Windows' : sys };
}

/**
 * celery/utils/time.py `utcoffset` (5.7): `time.timezone / 3600` (`altzone` in DST) — hours
 * *west* of UTC, true division. `getTimezoneOffset` is minutes west, DST included.
 */
export function utcoffset(at: Date = new Date()): number {
  return at.getTimezoneOffset() / 60 || 0;
}

/** celery/utils/sysinfo.py `load_average`: each rounded *up* to 2 decimals. */
export function loadAverage(): number[] {
  return loadavg().map((l) => Math.ceil(l * 100) / 100);
}

/** celery/utils/time.py `adjust_timestamp`: a sender's timestamp in the receiver's offset. */
export function adjustTimestamp(ts: number, offset: number, here: number = utcoffset()): number {
  return ts - (offset - here) * 3600;
}

/** celery/events/event.py `group_from`: `task-sent` → `task`. */
export function groupFrom(type: string): string {
  const dash = type.indexOf('-');
  return dash === -1 ? type : type.slice(0, dash);
}

export interface EventHeader {
  hostname: string;
  utcoffset: number;
  pid: number;
  clock: number | null;
}

/** The event object in Celery's key order; `fields.timestamp` (if given) is kept. */
export function buildEvent(type: string, header: EventHeader, fields: Record<string, unknown>, nowSeconds: number): CeleryEvent {
  const event: Record<string, unknown> = { hostname: header.hostname, utcoffset: header.utcoffset, pid: header.pid, clock: header.clock, ...fields };
  if (!('timestamp' in event)) event.timestamp = nowSeconds;
  event.type = type;
  return event as CeleryEvent;
}
