// Wall-clock time in an IANA zone, the way Python's zoneinfo sees it (PEP 495 `fold`), built on
// Intl.DateTimeFormat only. Celery computes crontab slots on local wall times, then converts the
// result to UTC (celery/utils/time.py `remaining`, celery/schedules.py `crontab.remaining_delta`).

/** A local wall time encoded as if it were a UTC epoch in ms (Date.UTC of the wall fields). */
export type WallMs = number;

export interface WallFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** Python's isoweekday() % 7: 0 = Sunday … 6 = Saturday. */
  dow: number;
}

const DAY_MS = 86_400_000;

/** One zone's offsets, memoised per UTC minute of a query (Intl formatting is the slow part). */
export class TimeZone {
  private readonly format: Intl.DateTimeFormat | null;
  private readonly cache = new Map<number, number>();

  constructor(readonly name: string) {
    // Throws RangeError for unknown zones, as ZoneInfo raises ZoneInfoNotFoundError.
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    this.format = /^(utc|etc\/utc|gmt|z)$/i.test(name) ? null : fmt;
  }

  /** UTC offset in ms at an instant. */
  offsetAt(epochMs: number): number {
    if (this.format === null) return 0;
    const key = Math.floor(epochMs / 60_000);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const parts = this.format.formatToParts(new Date(key * 60_000));
    const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
    const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
    const offset = wall - key * 60_000;
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(key, offset);
    return offset;
  }

  /** Instant → wall time (Python `dt.astimezone(tz)`, fields only). */
  toWall(epochMs: number): WallMs {
    return epochMs + this.offsetAt(epochMs);
  }

  /**
   * Wall time → instant with PEP 495 semantics: fold=0 takes the offset in force before a
   * transition (ambiguous → first occurrence, nonexistent → pushed forward by the gap, e.g.
   * 02:30 on Berlin's DST start → 03:30 CEST); fold=1 the offset after it.
   */
  toInstant(wall: WallMs, fold: 0 | 1 = 0): number {
    // Offsets either side of any transition near `wall` (real zones never change twice in 2 days).
    const before = this.offsetAt(wall - DAY_MS);
    const after = this.offsetAt(wall + DAY_MS);
    if (before === after) return wall - before;
    const validBefore = this.offsetAt(wall - before) === before;
    const validAfter = this.offsetAt(wall - after) === after;
    if (fold === 0) return validAfter && !validBefore ? wall - after : wall - before;
    return validBefore && !validAfter ? wall - before : wall - after;
  }

  /** The fold Python's astimezone() gives an instant (1 = the second of two equal wall times). */
  foldOf(epochMs: number): 0 | 1 {
    return this.toInstant(this.toWall(epochMs), 0) === epochMs ? 0 : 1;
  }

  /** True when the wall time does not exist (skipped by a DST start). */
  isImaginary(wall: WallMs): boolean {
    return this.toWall(this.toInstant(wall, 0)) !== wall;
  }
}

export function wallFields(wall: WallMs): WallFields {
  const d = new Date(wall);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    ms: d.getUTCMilliseconds(),
    dow: d.getUTCDay(),
  };
}

export function wallOf(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): WallMs {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * A zone name or a TimeZone (UTC when left out). Tested by shape, not `instanceof`: an app module
 * loaded by the CLI may hold its own copy of this class.
 */
export function toTimeZone(zone: string | TimeZone | undefined): TimeZone {
  return typeof zone === 'object' ? zone : new TimeZone(zone ?? 'UTC');
}
