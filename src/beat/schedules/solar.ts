// Celery's `solar(event, lat, lon)` schedule (celery/schedules.py, 5.7): the next sunrise, sunset,
// solar noon or twilight after `last_run_at`. Celery asks PyEphem with refraction off
// (`pressure = 0`): twilights are the Sun's centre crossing −6/−12/−18°, sunrise and sunset its
// upper limb crossing −0°34′, solar noon the meridian transit. astronomy-engine answers the same
// questions (SearchRiseSet uses exactly the −34′ + radius convention) to within seconds of
// PyEphem; only grazing events at the edge of a polar day or night can differ (celery/schedules.py
// `solar.remaining_estimate`).
import { createRequire } from 'node:module';
import type * as Astronomy from 'astronomy-engine';
import type { SchedState, Schedule } from './schedule.js';

// Loaded on the first solar schedule only: every app imports this module through the package
// index, and most never need the ephemeris (about 4 MB of a worker's memory).
let astronomy: typeof Astronomy | undefined;
const ephemeris = () => (astronomy ??= createRequire(import.meta.url)('astronomy-engine') as typeof Astronomy);

export const SOLAR_EVENTS = [
  'dawn_astronomical',
  'dawn_nautical',
  'dawn_civil',
  'sunrise',
  'solar_noon',
  'sunset',
  'dusk_civil',
  'dusk_nautical',
  'dusk_astronomical',
] as const;
export type SolarEvent = (typeof SOLAR_EVENTS)[number];

/** The Sun-centre altitude of each twilight (Celery 5.7's `_horizons`; 5.2–5.5 had +18° for dusk_astronomical). */
const TWILIGHT_ALTITUDE: Partial<Record<SolarEvent, number>> = {
  dawn_astronomical: -18,
  dawn_nautical: -12,
  dawn_civil: -6,
  dusk_civil: -6,
  dusk_nautical: -12,
  dusk_astronomical: -18,
};

/** Celery's `max_search_days`: an event that doesn't occur within a year is re-checked a year on. */
const MAX_SEARCH_DAYS = 366;
const DAY_MS = 86_400_000;

export class Solar implements Schedule {
  private readonly observer: Astronomy.Observer;
  private readonly direction: 1 | -1;
  /** The last search, since beat asks for the same `last_run_at` on every tick. */
  private cached: { from: number; next: number } | null = null;

  constructor(
    readonly event: SolarEvent,
    readonly lat: number,
    readonly lon: number,
  ) {
    // Celery's own error messages (SOLAR_INVALID_*).
    if (!SOLAR_EVENTS.includes(event)) {
      throw new RangeError(`Argument event "${event}" is invalid, must be one of ${[...SOLAR_EVENTS].sort().join(', ')}.`);
    }
    if (!(lat >= -90 && lat <= 90)) throw new RangeError(`Argument latitude ${lat} is invalid, must be between -90 and 90.`);
    if (!(lon >= -180 && lon <= 180)) throw new RangeError(`Argument longitude ${lon} is invalid, must be between -180 and 180.`);
    this.observer = new (ephemeris().Observer)(lat, lon, 0);
    this.direction = event.startsWith('dawn') || event === 'sunrise' ? 1 : -1;
  }

  /** `_next_event(last_run_at)`: the first occurrence strictly after `lastRunAt`. */
  nextRunAt(lastRunAt: number): number {
    if (this.cached?.from === lastRunAt) return this.cached.next;
    const next = this.search(lastRunAt) ?? lastRunAt + MAX_SEARCH_DAYS * DAY_MS;
    this.cached = { from: lastRunAt, next };
    return next;
  }

  remainingEstimate(lastRunAt: number, now: number): number {
    return this.nextRunAt(lastRunAt) - now;
  }

  /** Celery's `solar.is_due`: when due, the next check is the event after now. */
  isDue(lastRunAt: number, now: number): SchedState {
    const remaining = Math.max(this.remainingEstimate(lastRunAt, now), 0);
    if (remaining > 0) return { isDue: false, nextInMs: remaining };
    return { isDue: true, nextInMs: Math.max(this.remainingEstimate(now, now), 0) };
  }

  private search(from: number): number | null {
    // astronomy-engine resolves to the millisecond; start 1 ms on so an event at `from` itself
    // counts as passed, as PyEphem moves on to the next one.
    const { Body, SearchAltitude, SearchHourAngle, SearchRiseSet } = ephemeris();
    const start = new Date(from + 1);
    if (this.event === 'solar_noon') return SearchHourAngle(Body.Sun, this.observer, 0, start, +1).time.date.getTime();
    const altitude = TWILIGHT_ALTITUDE[this.event];
    const time =
      altitude === undefined
        ? SearchRiseSet(Body.Sun, this.observer, this.direction, start, MAX_SEARCH_DAYS)
        : SearchAltitude(Body.Sun, this.observer, this.direction, start, MAX_SEARCH_DAYS, altitude);
    return time?.date.getTime() ?? null;
  }

  /** No celery-redbeat encoding exists for solar (its encoder rejects it); this one mirrors Celery's arguments. */
  toJSON(): Record<string, unknown> {
    return { __type__: 'solar', event: this.event, lat: this.lat, lon: this.lon };
  }

  toString(): string {
    return `<solar: ${this.event} at latitude ${this.lat}, longitude: ${this.lon}>`;
  }
}

/**
 * Celery's solar schedule.
 * @example solar('sunset', 51.5, -0.12) // every sunset in London
 */
export function solar(event: SolarEvent, lat: number, lon: number): Solar {
  return new Solar(event, lat, lon);
}
