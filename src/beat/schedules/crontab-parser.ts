// Expands one crontab field the way Celery's `crontab_parser` and `crontab._expand_cronspec` do
// (celery/schedules.py, Celery 5.7): comma parts, `*`, `n`, `a-b` (wrapping), `*/s`, `a-b/s`,
// month then weekday names for every field (5.5+ quirk: `day_of_week='mar'` is 3).

/** What a crontab field accepts: an int, an iterable of ints, or a spec string. */
export type CronSpec = number | string | Iterable<number>;

/** Celery raises ValueError with these exact texts (beat-crontab-parse fixtures). */
export class CrontabParseError extends Error {
  override readonly name = 'ValueError';
}

const DAYNAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTHNAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// celery/schedules.py crontab_parser.pats, tried in this order with re.match (anchored at the
// start only, so trailing text after a match is ignored, as in Python).
const RANGE_STEPS = /^(\w+?)-(\w+)\/(\w+)?/;
const RANGE = /^(\w+?)-(\w+)/;
const STAR_STEPS = /^\*\/(\w+)?/;
const STAR = /^\*$/;

/** Python's int(): optional sign, digits, underscores between digits, surrounding spaces. */
function pythonInt(s: string): number | null {
  const t = s.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) return null;
  return Number(t.replace(/_/g, ''));
}

/** Parses one field; `max` and `min` as in crontab_parser(max_, min_). */
export class CrontabFieldParser {
  constructor(
    private readonly max: number,
    private readonly min = 0,
  ) {}

  parse(spec: string): Set<number> {
    const acc = new Set<number>();
    for (const part of spec.split(',')) {
      if (!part) throw new CrontabParseError('empty part');
      for (const n of this.parsePart(part)) acc.add(n);
    }
    return acc;
  }

  private parsePart(part: string): number[] {
    let m = RANGE_STEPS.exec(part);
    if (m) {
      if (!m[3]) throw new CrontabParseError('empty filter');
      return stepped(this.expandRange(m[1]!, m[2]!), this.step(m[3]));
    }
    m = RANGE.exec(part);
    if (m) return this.expandRange(m[1]!, m[2]!);
    m = STAR_STEPS.exec(part);
    if (m) {
      if (!m[1]) throw new CrontabParseError('empty filter');
      return stepped(this.expandStar(), this.step(m[1]));
    }
    if (STAR.test(part)) return this.expandStar();
    return this.expandRange(part);
  }

  private step(s: string): number {
    const n = pythonInt(s);
    if (n === null) throw new CrontabParseError(`invalid literal for int() with base 10: '${s}'`);
    if (n === 0) throw new CrontabParseError('slice step cannot be zero');
    return n;
  }

  private expandRange(from: string, to?: string): number[] {
    const fr = this.expandNumber(from);
    if (to === undefined) return [fr];
    const end = this.expandNumber(to);
    // Wrap around max_ if necessary: 55-5 → 55…59, 0…5.
    if (end < fr) return [...range(fr, this.min + this.max), ...range(this.min, end + 1)];
    return range(fr, end + 1);
  }

  private expandStar(): number[] {
    return range(this.min, this.max + this.min);
  }

  private expandNumber(s: string): number {
    if (s[0] === '-') throw new CrontabParseError('negative numbers not supported');
    let i = pythonInt(s);
    if (i === null) {
      const abbr = s.slice(0, 3).toLowerCase();
      const month = MONTHNAMES.indexOf(abbr);
      const day = DAYNAMES.indexOf(abbr);
      if (month >= 0) i = month + 1;
      else if (day >= 0) i = day;
      else throw new CrontabParseError(`Invalid weekday literal ${pyRepr(s)}.`);
    }
    const maxVal = this.min + this.max - 1;
    if (i > maxVal) throw new CrontabParseError(`Invalid end range: ${i} > ${maxVal}.`);
    if (i < this.min) throw new CrontabParseError(`Invalid beginning range: ${i} < ${this.min}.`);
    return i;
  }
}

/**
 * `crontab._expand_cronspec`: ints and iterables are taken as given, strings parsed; then every
 * value is range-checked.
 */
export function expandCronspec(spec: CronSpec, max: number, min = 0): Set<number> {
  let result: Set<number>;
  if (typeof spec === 'number') result = new Set([spec]);
  else if (typeof spec === 'string') result = new CrontabFieldParser(max, min).parse(spec);
  else if (spec !== null && typeof spec === 'object' && Symbol.iterator in spec) result = new Set(spec);
  else throw new TypeError(`Argument cronspec needs to be of any of the following types: int, str, or an iterable type. ${typeof spec} was given.`);
  for (const n of result) {
    if (!Number.isInteger(n) || n >= max + min || n < min) {
      throw new CrontabParseError(`Invalid crontab pattern.  Valid range is ${min}-${max - 1 + min}. '${n}' was found.`);
    }
  }
  return result;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

/** Python's list[::step] for a positive step. */
function stepped(values: number[], step: number): number[] {
  if (step < 0) return values.reverse().filter((_, i) => i % -step === 0);
  return values.filter((_, i) => i % step === 0);
}

function pyRepr(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
